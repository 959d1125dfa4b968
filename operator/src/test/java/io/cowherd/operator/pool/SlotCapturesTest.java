package io.cowherd.operator.pool;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.SlotOrigins;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientStatus;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.BootProgress;
import io.cowherd.operator.support.Pools;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** When a capture request becomes {@code spec.capture}. */
class SlotCapturesTest {
  private static final Instant NOW = Instant.parse("2026-12-02T15:00:00Z");

  @Test
  void aWellFormedPathGoesWhenTheClientIsSilentWaitsWhileItReadsUnlessForced() {
    AoeBootSlot existing = withAnnotations(Map.of(SlotOrigins.CAPTURE_ANNOTATION, "/srv/images/new.img"));
    Optional<AoeBootClient> reading = client("Reading", NOW.minusSeconds(2).toString());
    Optional<AoeBootClient> silent = client("Silent", NOW.minusSeconds(600).toString());

    assertThat(captureAfter(existing, silent)).isEqualTo("/srv/images/new.img");
    assertThat(captureAfter(existing, Optional.empty())).as("never seen").isEqualTo("/srv/images/new.img");
    assertThat(captureAfter(existing, reading)).isNull();
    assertThat(SlotCaptures.refusal(existing, reading, NOW)).hasValueSatisfying(m -> assertThat(m)
        .contains("waits").contains("was seen reading 2 s ago").contains("cowherd.io/capture-force=/srv/images/new.img"));

    existing.getMetadata().getAnnotations().put(SlotOrigins.CAPTURE_FORCE_ANNOTATION, "/srv/images/new.img");
    assertThat(captureAfter(existing, reading)).as("forced").isEqualTo("/srv/images/new.img");
  }

  @Test
  void illFormedPathsAreNeverPassedOnAndAnAcceptedOneStays() {
    for (String bad : new String[] {"new.img", "/srv/../etc/new.img", "/srv/images/", "/srv/images/new\n.img", "/srv/images/a\tb.img"}) {
      AoeBootSlot existing = withAnnotations(Map.of(SlotOrigins.CAPTURE_ANNOTATION, bad));
      assertThat(captureAfter(existing, Optional.empty())).as(bad).isNull();
      assertThat(SlotCaptures.refusal(existing, Optional.empty(), NOW)).as(bad).hasValueSatisfying(m ->
          assertThat(m).contains("ignored"));
    }
    AoeBootSlot done = withAnnotations(Map.of());
    done.getSpec().setCapture("/srv/images/old.img");
    assertThat(captureAfter(done, Optional.empty())).as("kept without a new request").isEqualTo("/srv/images/old.img");
  }

  private static String captureAfter(AoeBootSlot existing, Optional<AoeBootClient> client) {
    AoeBootSlot desired = DesiredSlots.build(Pools.aPool().build(), 0, "node-a");
    SlotCaptures.apply(existing, desired, client, NOW);
    return desired.getSpec().getCapture();
  }

  private static AoeBootSlot withAnnotations(Map<String, String> annotations) {
    AoeBootSlot slot = DesiredSlots.build(Pools.aPool().build(), 0, "node-a");
    slot.getMetadata().setAnnotations(new HashMap<>(annotations));
    return slot;
  }

  private static Optional<AoeBootClient> client(String stage, String readingAt) {
    AoeBootClient c = new AoeBootClient();
    c.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("pc-0").build());
    AoeBootClientStatus status = new AoeBootClientStatus();
    status.setSlot(0);
    BootProgress boot = new BootProgress();
    boot.setStage(stage);
    boot.setReadingAt(readingAt);
    status.setBoot(boot);
    c.setStatus(status);
    return Optional.of(c);
  }
}
