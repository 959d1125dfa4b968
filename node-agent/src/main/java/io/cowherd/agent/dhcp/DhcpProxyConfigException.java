package io.cowherd.agent.dhcp;

/** The proxy DHCP settings cannot work on this node (missing interface, address, boot file...); nothing was started. */
public final class DhcpProxyConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  public DhcpProxyConfigException(String message) {
    super(message);
  }
}
