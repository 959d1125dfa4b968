package io.cowherd.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One diskless machine: its boot MAC, its pool, and (status) the slot it always boots. Clients a
 * node agent enrols are named {@code mac-<12 hex digits>} ({@link io.cowherd.api.Names#clientName}),
 * so two agents enrolling one MAC at once collide on the name (409) instead of making two clients.
 */
@Group(AoeBootPool.GROUP)
@Version(AoeBootPool.VERSION)
@ShortNames("abc")
@Categories("aoe")
@ValidationRule(value = "has(self.spec)", message = "spec is required")
@AdditionalPrinterColumn(name = "MAC", jsonPath = ".spec.mac", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "POOL", jsonPath = ".spec.pool", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "TARGET", jsonPath = ".status.target", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "ASSIGNED", jsonPath = ".status.conditions[?(@.type==\"Assigned\")].reason",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "STAGE", jsonPath = ".status.boot.stage", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "SINCE", jsonPath = ".status.boot.stageSince", type = AdditionalPrinterColumn.Type.DATE)
@AdditionalPrinterColumn(name = "LAST-READ", jsonPath = ".status.boot.readingAt", type = AdditionalPrinterColumn.Type.DATE,
    priority = 1)
@AdditionalPrinterColumn(name = "LAST-WRITE", jsonPath = ".status.boot.writingAt", type = AdditionalPrinterColumn.Type.DATE,
    priority = 1)
@AdditionalPrinterColumn(name = "AGE", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class AoeBootClient extends CustomResource<AoeBootClientSpec, AoeBootClientStatus> implements Namespaced {
  @Override
  protected AoeBootClientStatus initStatus() {
    return new AoeBootClientStatus();
  }
}
