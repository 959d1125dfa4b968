package io.cowherd.api;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;

/**
 * The informer cache of every cowherd informer (operator and node agent): fabric8's {@link
 * BasicItemStore}, keyed {@code namespace/name} as fabric8's default, that drops {@code
 * metadata.managedFields} from each object before it keeps it.
 *
 * <p>Why: server-side apply's field ownership is a list of field sets per writer, often larger than
 * the object's spec and status together; at 255 slots across 50 pools the operator's caches held
 * 2,162 such entries (issue 11, heap histogram). Nothing in cowherd reads them: field managers are
 * the API server's business (cowherd names its own in each request), and cowherd uses no JOSDK
 * dependent resources (whose SSA matcher is the one JOSDK reader of managedFields). The object is
 * changed in place; the informer hands that same object to its event handlers, which therefore see
 * it without managedFields too. Objects read or written directly through the client keep them.
 *
 * @param <R> the resource kind
 */
public final class LeanItemStore<R extends HasMetadata> extends BasicItemStore<R> {
  /** An empty store, keyed as fabric8's default cache ({@link Cache#metaNamespaceKeyFunc}). */
  public LeanItemStore() {
    super(Cache::metaNamespaceKeyFunc);
  }

  /** A new, empty store for one informer (each informer needs its own). */
  public static <R extends HasMetadata> ItemStore<R> create() {
    return new LeanItemStore<>();
  }

  @Override
  public R put(String key, R obj) {
    ObjectMeta metadata = obj.getMetadata();
    if (metadata != null && metadata.getManagedFields() != null && !metadata.getManagedFields().isEmpty()) {
      metadata.setManagedFields(null);
    }
    return super.put(key, obj);
  }
}
