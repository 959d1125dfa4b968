package io.cowherd.agent.backend;

/**
 * A slot's origin is not in the state its COW stores were made from (written in place,
 * truncated, or replaced at its path), so a new COW store over it would give this pool two
 * different disks under one image name, or copy a file still being written. Nothing is made and
 * nothing is deleted; the slot goes {@code Failed} with reason {@code OriginChanged}.
 */
public class OriginChangedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public OriginChangedException(String message) {
    super(message);
  }
}
