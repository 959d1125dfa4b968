package io.cowherd.e2e.support;

import java.nio.file.Path;
import java.util.List;

/**
 * One more simulated host of a {@link Lab} ({@link Lab#addNode}): a Node object, a network
 * namespace whose exporter NIC (named as the lab's, {@link NetworkLab#exporterInterface()}) is a
 * port of the lab's segment, a state dir of its own, and a node agent JVM started in that
 * namespace with {@code ip netns exec} (which execs the JVM in place, so {@link
 * ManagedProcess#kill()} is a SIGKILL of the agent itself). Its exporters run in its namespace; its
 * agent reaches the API server through an {@link ApiRelay}.
 */
public final class LabNode {
  private final Lab lab;
  private final String name;
  private final String netns;
  private final Path stateDir;
  private ManagedProcess agent;

  LabNode(Lab lab, String name, String netns, Path stateDir) {
    this.lab = lab;
    this.name = name;
    this.netns = netns;
    this.stateDir = stateDir;
  }

  /** Starts (or, after {@code agent().kill()}, restarts) this node's agent; returns once its controller runs. */
  public ManagedProcess startAgent() {
    agent = lab.startAgentProcess(name, stateDir, List.of("ip", "netns", "exec", netns), List.of(), List.of());
    return agent;
  }

  /** The running (or last started) agent. */
  public ManagedProcess agent() {
    return agent;
  }

  /** The Node object's name ({@code spec.nodeName} of the slots placed here). */
  public String name() {
    return name;
  }

  /** The host's network namespace ({@code ip netns}). */
  public String netns() {
    return netns;
  }

  /** The agent's state dir (COW stores of the slots placed here). */
  public Path stateDir() {
    return stateDir;
  }

  /** MAC address of this host's exporter NIC, lower-case colon notation. */
  public String exporterMac() {
    return NetworkLab.macIn(netns, lab.network().exporterInterface());
  }
}
