package io.cowherd.operator.pool;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotStatus;
import io.cowherd.operator.liveness.LivenessConditionWriter;
import io.cowherd.operator.status.PoolConditions;
import io.cowherd.operator.support.ApiServerExtension;
import io.cowherd.operator.support.ApiServerHarness;
import io.cowherd.operator.support.Cluster;
import io.cowherd.operator.support.Pools;
import io.cowherd.operator.support.Slots;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The reporter against a real API server, called as the pool reconciler calls it: with the pool
 * from the informer cache, which lags the reporter's own status write.
 */
@Tag("apiserver")
@ExtendWith(ApiServerExtension.class)
class SilentAgentDeletionReporterApiTest {

  @Test
  void aReconcileOnACachedPoolThatDoesNotShowTheReportYetWritesNoSecondWarning(ApiServerHarness harness) {
    KubernetesClient client = harness.client();
    new Cluster(client).createNamespace("silent-r");
    AoeBootPool pool = Pools.aPool().inNamespace("silent-r").named("boot").shelf(31).replicas(1).buildForCreate();
    AoeBootPool cached = client.resource(pool).create(); // as the cache holds it: no Progressing condition yet
    AoeBootSlot slot = Slots.aSlot(cached, 0).on("node-a").build();
    AoeBootSlotStatus status = slot.getStatus();
    status.setConditions(List.of(new ConditionBuilder().withType(LivenessConditionWriter.TYPE).withStatus("Unknown")
        .withReason(LivenessConditionWriter.AGENT_SILENT).withMessage("silent").build()));
    SilentAgentDeletionReporter reporter =
        new SilentAgentDeletionReporter(client, new PoolEventRecorder(client, Clock.systemUTC()), Clock.systemUTC());

    reporter.report(cached, List.of(slot));
    reporter.report(cached, List.of(slot)); // the next reconcile, before the informer saw the status write

    // Events are written in the background: wait for the first, then make sure no second one follows.
    java.util.function.Supplier<Long> warnings = () -> client.v1().events().inNamespace("silent-r").list().getItems()
        .stream().filter(e -> PoolConditions.AGENT_SILENT.equals(e.getReason())).count();
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> warnings.get() >= 1);
    org.awaitility.Awaitility.await().during(java.time.Duration.ofSeconds(2)).atMost(java.time.Duration.ofSeconds(5))
        .until(() -> warnings.get() == 1);
    assertThat(warnings.get()).isEqualTo(1);
  }
}
