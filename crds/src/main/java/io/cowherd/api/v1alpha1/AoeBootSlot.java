package io.cowherd.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One client's export: target {@code e<shelf>.<slot>} on node {@code spec.nodeName}, named
 * {@code <pool>-<slot>}, owned by its pool. Spec is written by the operator, status by the node
 * agent of {@code spec.nodeName}.
 */
@Group(AoeBootPool.GROUP)
@Version(AoeBootPool.VERSION)
@ShortNames("abs")
@Categories("aoe")
@AdditionalPrinterColumn(name = "NODE", jsonPath = ".spec.nodeName", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "TARGET", jsonPath = ".status.target", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "PHASE", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "CLIENT-MAC", jsonPath = ".spec.allowedMacs[0]", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "RESTARTS", jsonPath = ".status.restarts", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "COW%", jsonPath = ".status.cowUsedPercent", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "STAGE", jsonPath = ".status.clientStage", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "AGENT", jsonPath = ".status.conditions[?(@.type==\"AgentAlive\")].reason",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "NODE-STATUS", jsonPath = ".status.conditions[?(@.type==\"NodeAvailable\")].reason",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "ORIGIN", jsonPath = ".status.origin.path", type = AdditionalPrinterColumn.Type.STRING,
    priority = 1)
@AdditionalPrinterColumn(name = "STALE", jsonPath = ".status.origin.stale", type = AdditionalPrinterColumn.Type.BOOLEAN,
    priority = 1)
@AdditionalPrinterColumn(name = "ORIGIN-CHANGED", jsonPath = ".status.origin.changed",
    type = AdditionalPrinterColumn.Type.BOOLEAN, priority = 1)
@AdditionalPrinterColumn(name = "AGE", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class AoeBootSlot extends CustomResource<AoeBootSlotSpec, AoeBootSlotStatus> implements Namespaced {
  @Override
  protected AoeBootSlotStatus initStatus() {
    return new AoeBootSlotStatus();
  }
}
