package io.cowherd.operator.pool;

import static io.cowherd.operator.support.Pools.aPool;
import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolStatus;
import io.cowherd.api.v1alpha1.SlotPlacement;
import java.util.List;
import org.junit.jupiter.api.Test;

class PlacementMemoryTest {
  private final PlacementMemory memory = new PlacementMemory();

  private static AoeBootPool pool(String resourceVersion, List<SlotPlacement> placements) {
    AoeBootPool pool = aPool().replicas(1).build();
    pool.getMetadata().setUid("uid-pool");
    pool.getMetadata().setResourceVersion(resourceVersion);
    pool.setStatus(new AoeBootPoolStatus());
    pool.getStatus().setPlacements(placements);
    return pool;
  }

  @Test
  void aCacheThatStillShowsThePoolOurWriteWasBasedOnGetsOurWriteNotItsStaleRecord() {
    List<SlotPlacement> onHome = List.of(new SlotPlacement(0, "home", null));
    List<SlotPlacement> released = List.of(new SlotPlacement(0, null, "uid-abandoned"));
    AoeBootPool seen = pool("41", onHome);
    memory.written(seen, released);

    assertThat(memory.current(pool("41", onHome))).as("cache not caught up: the abandoned node is not reused")
        .isEqualTo(released);
    assertThat(memory.current(pool("42", released))).as("cache caught up").isEqualTo(released);
    assertThat(memory.current(pool("41", onHome))).as("forgotten once the cache moved on").isEqualTo(onHome);
  }

  @Test
  void aPoolWeNeverWroteIsReadAsItIs() {
    assertThat(memory.current(pool("7", List.of(new SlotPlacement(1, "a", null)))))
        .containsExactly(new SlotPlacement(1, "a", null));
    AoeBootPool noStatus = aPool().build();
    noStatus.setStatus(null);
    assertThat(memory.current(noStatus)).isEmpty();
  }
}
