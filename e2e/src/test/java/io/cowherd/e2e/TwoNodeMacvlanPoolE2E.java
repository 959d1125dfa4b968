package io.cowherd.e2e;

/**
 * {@link TwoNodePoolE2E} with every agent giving each exporter a macvlan of its own ({@code
 * --exporter-links macvlan}, docs/install.md "Exporter links"): the same steps (placement, scaling,
 * a SIGKILLed agent's adoption, deletion, a slot moved off a lost node, a bring-up on one node and
 * on two, duplicates made on purpose) under the same {@link io.cowherd.e2e.support.WireMonitor}, with
 * every target answering from its own MAC ({@code 02:c0:77:<shelf>:<slot>}) on either node.
 */
class TwoNodeMacvlanPoolE2E extends TwoNodePoolE2E {
  @Override
  boolean macvlanLinks() {
    return true;
  }

  @Override
  String workDirName() {
    return "e2e-two-nodes-macvlan";
  }
}
