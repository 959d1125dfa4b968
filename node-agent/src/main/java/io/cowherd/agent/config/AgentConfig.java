package io.cowherd.agent.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The node agent's configuration, read once at start and never changed.
 *
 * @param nodeName this node's Kubernetes name; only slots with {@code spec.nodeName} equal to it
 *     are served
 * @param stateDir where COW stores live: {@code <stateDir>/<namespace>/<pool>/slot-<n>.*}
 * @param imageRoots directories origins must lie under (real paths, symlinks resolved)
 * @param vblade the vblade program (name in PATH, or a path)
 * @param namespaces namespaces to watch; empty = all
 */
public record AgentConfig(String nodeName, Path stateDir, List<Path> imageRoots, String vblade, Set<String> namespaces) {
  public AgentConfig {
    Objects.requireNonNull(nodeName, "nodeName");
    if (nodeName.isBlank()) {
      throw new IllegalArgumentException("node name must not be blank");
    }
    stateDir = stateDir.toAbsolutePath().normalize();
    imageRoots = imageRoots.stream().map(p -> p.toAbsolutePath().normalize()).toList();
    if (imageRoots.isEmpty()) {
      throw new IllegalArgumentException("at least one image root is required");
    }
    namespaces = Set.copyOf(namespaces);
  }

  /** Whether every namespace is watched. */
  public boolean allNamespaces() {
    return namespaces.isEmpty();
  }
}
