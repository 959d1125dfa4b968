package io.cowherd.operator.support;

import io.cowherd.api.v1alpha1.AoeBootPool;
import io.cowherd.api.v1alpha1.AoeBootPoolSpec;
import io.cowherd.api.v1alpha1.AoeBootPoolStatus;
import io.cowherd.api.v1alpha1.CowBackend;
import io.cowherd.api.v1alpha1.CowSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;

/** Test builder for pools: {@code Pools.aPool().named("boot").shelf(7).replicas(3).build()}. */
public final class Pools {
  private String namespace = "default";
  private String name = "boot";
  private String uid = "uid-boot";
  private Instant created = Instant.parse("2026-01-01T00:00:00Z");
  private long generation = 1;
  private int shelf = 7;
  private Integer replicas = 3;
  private String image = "/srv/images/origin.img";
  private String iface = "eth0";
  private CowSpec cow;
  private boolean deleting;
  private AoeBootPoolStatus status;

  private Pools() {}

  /** A pool {@code default/boot}, shelf 7, 3 replicas, image /srv/images/origin.img on eth0. */
  public static Pools aPool() {
    return new Pools();
  }

  public Pools named(String value) {
    this.name = value;
    this.uid = "uid-" + value;
    return this;
  }

  public Pools inNamespace(String value) {
    this.namespace = value;
    return this;
  }

  public Pools created(String rfc3339) {
    this.created = Instant.parse(rfc3339);
    return this;
  }

  public Pools generation(long value) {
    this.generation = value;
    return this;
  }

  public Pools shelf(int value) {
    this.shelf = value;
    return this;
  }

  public Pools replicas(Integer value) {
    this.replicas = value;
    return this;
  }

  public Pools image(String value) {
    this.image = value;
    return this;
  }

  public Pools iface(String value) {
    this.iface = value;
    return this;
  }

  public Pools cow(CowBackend backend, int chunkSectors) {
    this.cow = new CowSpec(backend, chunkSectors);
    return this;
  }

  public Pools deleting() {
    this.deleting = true;
    return this;
  }

  public Pools status(AoeBootPoolStatus value) {
    this.status = value;
    return this;
  }

  /**
   * The pool as a user writes it for {@code create()}: without the fields the API server sets (uid,
   * generation, creationTimestamp) and without status.
   */
  public AoeBootPool buildForCreate() {
    AoeBootPool pool = build();
    pool.getMetadata().setUid(null);
    pool.getMetadata().setGeneration(null);
    pool.getMetadata().setCreationTimestamp(null);
    pool.setStatus(null);
    return pool;
  }

  public AoeBootPool build() {
    AoeBootPool pool = new AoeBootPool();
    pool.setMetadata(new ObjectMetaBuilder()
        .withNamespace(namespace)
        .withName(name)
        .withUid(uid)
        .withGeneration(generation)
        .withCreationTimestamp(created.toString())
        .withDeletionTimestamp(deleting ? "2026-06-01T00:00:00Z" : null)
        .build());
    AoeBootPoolSpec spec = new AoeBootPoolSpec();
    spec.setShelf(shelf);
    spec.setReplicas(replicas);
    spec.setImage(image);
    spec.setInterface(iface);
    if (cow != null) {
      spec.setCow(cow);
    }
    pool.setSpec(spec);
    pool.setStatus(status);
    return pool;
  }
}
