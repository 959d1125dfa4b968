package io.cowherd.agent.support;

import io.cowherd.api.Names;
import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.cowherd.api.v1alpha1.AoeBootSlotSpec;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.CowSpec;
import io.cowherd.api.v1alpha1.AoeBootPool;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import java.util.List;

/**
 * Test data builder: {@code Slots.aSlot().image("/images/a.img").build()}. Builds what the
 * operator makes: name {@code <pool>-<slot>}, controller owner reference to the pool.
 */
public final class Slots {
  private String namespace = "lab";
  private String pool = "debian";
  private int slot = 0;
  private int shelf = 7;
  private String node = "node-a";
  private String image = "/images/debian.img";
  private String iface = "eth1";
  private CowBackend backend = CowBackend.DM_SNAPSHOT;
  private long generation = 1;
  private String name;
  private boolean owned = true;

  private Slots() {}

  public static Slots aSlot() {
    return new Slots();
  }

  public Slots namespace(String v) { namespace = v; return this; }
  public Slots pool(String v) { pool = v; return this; }
  public Slots slot(int v) { slot = v; return this; }
  public Slots shelf(int v) { shelf = v; return this; }
  public Slots node(String v) { node = v; return this; }
  public Slots image(String v) { image = v; return this; }
  public Slots iface(String v) { iface = v; return this; }
  public Slots backend(CowBackend v) { backend = v; return this; }
  public Slots generation(long v) { generation = v; return this; }
  /** Another object name than {@code <pool>-<slot>} (a hand-made slot). */
  public Slots name(String v) { name = v; return this; }
  /** Without the owner reference to the pool (a hand-made slot). */
  public Slots unowned() { owned = false; return this; }

  public AoeBootSlotSpec spec() {
    AoeBootSlotSpec s = new AoeBootSlotSpec();
    s.setPool(pool);
    s.setSlot(slot);
    s.setShelf(shelf);
    s.setNodeName(node);
    s.setImage(image);
    s.setInterface(iface);
    s.setCow(new CowSpec(backend, 64));
    return s;
  }

  public AoeBootSlot build() {
    AoeBootSlot r = new AoeBootSlot();
    r.setMetadata(new ObjectMetaBuilder()
        .withName(name != null ? name : Names.slotName(pool, slot))
        .withNamespace(namespace)
        .withGeneration(generation)
        .withUid("uid-" + pool + "-" + slot)
        .withLabels(new java.util.HashMap<>(Names.slotLabels(pool, slot, node)))
        .withOwnerReferences(owned ? List.of(new OwnerReferenceBuilder()
            .withApiVersion(HasMetadata.getApiVersion(AoeBootPool.class))
            .withKind(HasMetadata.getKind(AoeBootPool.class))
            .withName(pool)
            .withUid("uid-pool-" + pool)
            .withController(true)
            .withBlockOwnerDeletion(true)
            .build()) : List.of())
        .build());
    r.setSpec(spec());
    return r;
  }
}
