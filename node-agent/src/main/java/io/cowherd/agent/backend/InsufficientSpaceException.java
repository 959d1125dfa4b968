package io.cowherd.agent.backend;

/**
 * A slot's COW store cannot get its space reservation: the state dir's filesystem has fewer free
 * bytes than the store needs (after what other slots' reservations still claim). Thrown before
 * any host change for the slot, or after removing the partial file that held no data yet.
 */
public final class InsufficientSpaceException extends RuntimeException {
  private final long neededBytes;
  private final long availableBytes;

  /**
   * @param what the store, for the message
   * @param neededBytes bytes the reservation needs
   * @param availableBytes bytes the filesystem can give it now
   */
  public InsufficientSpaceException(String what, long neededBytes, long availableBytes) {
    super(what + " needs " + neededBytes + " bytes reserved, the state dir filesystem can give " + availableBytes
        + " bytes; nothing was created (free space, or serve this slot on another node)");
    this.neededBytes = neededBytes;
    this.availableBytes = availableBytes;
  }

  /** Bytes the reservation needs. */
  public long neededBytes() {
    return neededBytes;
  }

  /** Bytes the filesystem could give. */
  public long availableBytes() {
    return availableBytes;
  }
}
