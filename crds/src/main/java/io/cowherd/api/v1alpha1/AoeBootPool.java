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
 * A pool of AoE exports of one origin image: {@code spec.replicas} slots {@code 0..replicas-1},
 * each served as target {@code e<shelf>.<slot>} with its own COW store.
 *
 * <p>The pool name is limited to 52 characters so that slot names ({@code <pool>-<slot>}) and the
 * label values derived from them stay within the 63-character label value limit.
 */
@Group(AoeBootPool.GROUP)
@Version(AoeBootPool.VERSION)
@ShortNames("abp")
@Categories("aoe")
@ValidationRule(value = "has(self.spec)", message = "spec is required")
@ValidationRule(
    value = "self.metadata.name.size() <= 52",
    message = "metadata.name: a pool name has at most 52 characters (slot names and labels derive from it)")
@AdditionalPrinterColumn(name = "DESIRED", jsonPath = ".spec.replicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "READY", jsonPath = ".status.readyReplicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "UPDATED", jsonPath = ".status.updatedReplicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "STALE", jsonPath = ".status.staleReplicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "SHELF", jsonPath = ".spec.shelf", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "INTERFACE", jsonPath = ".spec.interface", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "IMAGE", jsonPath = ".spec.image", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "AGE", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class AoeBootPool extends CustomResource<AoeBootPoolSpec, AoeBootPoolStatus> implements Namespaced {
  /** API group of every cowherd resource. */
  public static final String GROUP = "cowherd.io";
  /** API version of this model. */
  public static final String VERSION = "v1alpha1";

  @Override
  protected AoeBootPoolStatus initStatus() {
    return new AoeBootPoolStatus();
  }
}
