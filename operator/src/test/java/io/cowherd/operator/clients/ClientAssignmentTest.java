package io.cowherd.operator.clients;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootClient;
import io.cowherd.api.v1alpha1.AoeBootClientSpec;
import io.cowherd.api.v1alpha1.AoeBootClientStatus;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.ClientEnrollment;
import io.cowherd.api.v1alpha1.ClientsSpec;
import io.cowherd.operator.support.Pools;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClientAssignmentTest {
  private static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");

  @Test
  void heldSlotsAreKeptAndNewClientsTakeTheLowestFreeOnes() {
    AoeBootPool pool = pool(4, ClientEnrollment.Manual, 10);
    ClientAssignment.Outcome out = ClientAssignment.decide(pool, List.of(
        client("a", "52:54:00:00:00:01", null, 2, "2026-12-02T10:00:00Z", false),
        client("b", "52:54:00:00:00:02", null, null, "2026-12-02T10:00:01Z", false),
        client("c", "52:54:00:00:00:03", null, null, "2026-12-02T10:00:02Z", false)), NOW);
    assertThat(out.macsBySlot()).isEqualTo(Map.of(2, "52:54:00:00:00:01", 0, "52:54:00:00:00:02", 1, "52:54:00:00:00:03"));
    assertThat(out.decisions()).extracting(ClientAssignment.Decision::newlyAssigned).containsExactly(false, true, true);
  }

  @Test
  void aPinnedClientNeverTakesAHeldSlot() {
    AoeBootPool pool = pool(2, ClientEnrollment.Manual, 10);
    ClientAssignment.Outcome out = ClientAssignment.decide(pool, List.of(
        client("holder", "52:54:00:00:00:01", null, 1, "2026-12-02T10:00:00Z", false),
        client("pinned", "52:54:00:00:00:02", 1, null, "2026-12-02T10:00:01Z", false)), NOW);
    assertThat(out.decisions().get(1).reason()).isEqualTo(ClientAssignment.SLOT_TAKEN);
    assertThat(out.macsBySlot()).isEqualTo(Map.of(1, "52:54:00:00:00:01"));
  }

  @Test
  void automaticEnrollmentsAreRateLimitedAndPrefixFiltered() {
    AoeBootPool pool = pool(10, ClientEnrollment.Automatic, 2);
    pool.getSpec().getClients().setMacPrefixes(List.of("52:54:00"));
    AoeBootClient recent = client("mac-1", "52:54:00:00:00:01", null, 0, "2026-12-02T11:59:00Z", true);
    recent.getStatus().setAssignedAt("2026-12-02T11:59:30Z");
    ClientAssignment.Outcome out = ClientAssignment.decide(pool, List.of(recent,
        client("mac-2", "52:54:00:00:00:02", null, null, "2026-12-02T11:59:40Z", true),
        client("mac-3", "52:54:00:00:00:03", null, null, "2026-12-02T11:59:41Z", true),
        client("mac-4", "02:00:00:00:00:04", null, null, "2026-12-02T11:59:42Z", true),
        client("by-hand", "52:54:00:00:00:05", null, null, "2026-12-02T11:59:43Z", false)), NOW);
    assertThat(out.decisions()).extracting(ClientAssignment.Decision::reason).containsExactly(
        ClientAssignment.ASSIGNED, ClientAssignment.ASSIGNED, ClientAssignment.RATE_LIMITED,
        ClientAssignment.PREFIX_NOT_ALLOWED, ClientAssignment.ASSIGNED);
    assertThat(out.rateLimited()).isTrue();
  }

  @Test
  void scaleDownReleasesTheRemovedSlotAndScaleUpKeepsEveryHolder() {
    List<AoeBootClient> clients = List.of(
        client("a", "52:54:00:00:00:01", null, 0, "2026-12-02T10:00:00Z", false),
        client("b", "52:54:00:00:00:02", null, 2, "2026-12-02T10:00:01Z", false));
    ClientAssignment.Outcome down = ClientAssignment.decide(pool(2, ClientEnrollment.Manual, 10), clients, NOW);
    assertThat(down.decisions().get(1).reason()).isEqualTo(ClientAssignment.SLOT_REMOVED);
    assertThat(down.decisions().get(1).slot()).isNull();
    ClientAssignment.Outcome up = ClientAssignment.decide(pool(8, ClientEnrollment.Manual, 10), clients, NOW);
    assertThat(up.macsBySlot()).isEqualTo(Map.of(0, "52:54:00:00:00:01", 2, "52:54:00:00:00:02"));
  }

  private static AoeBootPool pool(int replicas, ClientEnrollment enrollment, int perMinute) {
    AoeBootPool pool = Pools.aPool().named("boot").inNamespace("lab").shelf(7).replicas(replicas).build();
    ClientsSpec clients = new ClientsSpec();
    clients.setEnrollment(enrollment);
    clients.setEnrollmentsPerMinute(perMinute);
    pool.getSpec().setClients(clients);
    return pool;
  }

  private static AoeBootClient client(String name, String mac, Integer pin, Integer held, String created,
      boolean enrolled) {
    AoeBootClient c = new AoeBootClient();
    c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("lab").withCreationTimestamp(created)
        .withGeneration(1L).withLabels(enrolled ? Map.of(Names.ENROLLED_BY_LABEL, "node-a") : Map.of()).build());
    AoeBootClientSpec spec = new AoeBootClientSpec();
    spec.setMac(mac);
    spec.setPool("boot");
    spec.setSlot(pin);
    c.setSpec(spec);
    if (held != null) {
      AoeBootClientStatus status = new AoeBootClientStatus();
      status.setSlot(held);
      status.setMac(mac);
      c.setStatus(status);
    }
    return c;
  }
}
