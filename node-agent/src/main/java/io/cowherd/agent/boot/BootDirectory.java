package io.cowherd.agent.boot;

import io.cowherd.api.MacAddress;
import java.util.Optional;

/** What the boot endpoint answers a MAC: where the client boots, or why it waits. */
public interface BootDirectory {
  /**
   * Looks {@code mac} up, and when it is unknown and a pool enrols automatically, enrols it.
   *
   * @param pool {@code <namespace>/<name>} from the URL, to choose among pools that enrol automatically
   */
  Answer answer(MacAddress mac, Optional<String> pool);

  /** An answer. */
  sealed interface Answer permits Boot, Wait, Hold {}

  /**
   * The MAC's client holds a slot.
   *
   * @param namespace client namespace
   * @param client client name
   * @param target {@code e<shelf>.<slot>}
   * @param hostname the client's host name, or null
   * @param kernelArgs the client's extra kernel arguments, or null
   */
  record Boot(String namespace, String client, String target, String hostname, String kernelArgs) implements Answer {}

  /**
   * The client holds a slot, but its script waits until the slot serves the pool's image ({@link
   * StaleSlotGate}).
   *
   * @param namespace client namespace
   * @param client client name
   * @param message shown on the client's console
   * @param seconds wait before the next try
   * @param requestUpdate whether to record {@code status.boot.updateRequestedAt} (the operator then moves the slot)
   */
  record Hold(String namespace, String client, String message, int seconds, boolean requestUpdate) implements Answer {}

  /**
   * No slot (yet): the message says why; try again after {@code seconds}.
   *
   * @param message shown on the client's console
   * @param seconds wait before the next try
   */
  record Wait(String message, int seconds) implements Answer {}
}
