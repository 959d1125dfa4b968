package io.cowherd.agent.boot;

import io.cowherd.api.v1alpha1.AoeBootClient;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes boot stages as a JSON merge patch of {@code status.boot} alone (the operator writes the
 * rest of client status), on one background thread with a bounded queue: a boot answer never
 * waits for the API server, and a flood drops stage records (logged), never answers.
 */
public final class KubernetesBootProgress implements BootProgressRecorder, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesBootProgress.class);
  /** Stage name: the boot endpoint served the sanboot script. */
  public static final String SCRIPT_SERVED = "ScriptServed";
  /** Stage name: an AoE Query Config from the client's MAC was seen ({@link QueryWatch}). */
  public static final String QUERIED = "Queried";
  /** Stage name: the script was held back to move the client's slot to the pool's image. */
  public static final String UPDATE_REQUESTED = "UpdateRequested";
  private static final int MAX_QUEUED = 256;

  private final KubernetesClient client;
  private final String nodeName;
  private final ThreadPoolExecutor writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
      new ArrayBlockingQueue<>(MAX_QUEUED), Thread.ofPlatform().name("boot-progress").daemon(true).factory());

  /** @param nodeName recorded as {@code status.boot.node} */
  public KubernetesBootProgress(KubernetesClient client, String nodeName) {
    this.client = client;
    this.nodeName = nodeName;
  }

  @Override
  public void scriptServed(String namespace, String name, Instant when) {
    record(namespace, name, SCRIPT_SERVED, "scriptServedAt", when);
  }

  @Override
  public void queried(String namespace, String name, Instant when) {
    record(namespace, name, QUERIED, "queriedAt", when);
  }

  @Override
  public void updateRequested(String namespace, String name, Instant when) {
    record(namespace, name, UPDATE_REQUESTED, "updateRequestedAt", when);
  }

  /**
   * Records a stage the client's I/O shows ({@link BootStages}: Reading, Writing, Silent) with the
   * times of its last read and write request ({@code status.boot.readingAt}, {@code writingAt}),
   * as of this change. Queued like the others; called once per stage change, never per frame.
   *
   * @param lastRead the client's last read request, or null (field left as it is)
   * @param lastWrite the client's last write request, or null (field left as it is)
   */
  public void ioStage(String namespace, String name, BootStages.Stage stage, Instant since, Instant lastRead,
      Instant lastWrite) {
    Map<String, Object> boot = new java.util.LinkedHashMap<>();
    boot.put("stage", stage.name());
    boot.put("stageSince", rfc3339(since));
    boot.put("node", nodeName);
    if (lastRead != null) {
      boot.put("readingAt", rfc3339(lastRead));
    }
    if (lastWrite != null) {
      boot.put("writingAt", rfc3339(lastWrite));
    }
    write(namespace, name, stage.name(), boot);
  }

  private static String rfc3339(Instant when) {
    return when.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  private void record(String namespace, String name, String stage, String timestampField, Instant when) {
    String at = rfc3339(when);
    write(namespace, name, stage, Map.of("stage", stage, "stageSince", at, "node", nodeName, timestampField, at));
  }

  private void write(String namespace, String name, String stage, Map<String, Object> boot) {
    Map<String, Object> patch = Map.of("status", Map.of("boot", boot));
    try {
      writer.execute(() -> {
        try {
          client.resources(AoeBootClient.class).inNamespace(namespace).withName(name).subresource("status")
              .patch(PatchContext.of(PatchType.JSON_MERGE), Serialization.asJson(patch));
        } catch (KubernetesClientException e) {
          LOG.warn("could not record boot stage {} of client {}/{}: {}", stage, namespace, name, e.getMessage());
        }
      });
    } catch (RejectedExecutionException e) {
      LOG.warn("dropped boot stage {} of client {}/{}: {} records already waiting", stage, namespace, name,
          MAX_QUEUED);
    }
  }

  @Override
  public void close() {
    writer.shutdown();
  }
}
