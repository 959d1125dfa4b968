package io.cowherd.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.cowherd.api.v1alpha1.AoeBootSlot;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import org.junit.jupiter.api.Test;

class LeanItemStoreTest {
  @Test
  void keepsObjectsWithoutManagedFieldsUnderNamespaceSlashName() {
    ItemStore<AoeBootSlot> store = LeanItemStore.create();
    AoeBootSlot slot = new AoeBootSlot();
    slot.setMetadata(new ObjectMetaBuilder().withNamespace("lab").withName("boot-3").withResourceVersion("7")
        .withManagedFields(new ManagedFieldsEntryBuilder().withManager("cowherd-operator").withOperation("Apply").build())
        .build());

    String key = store.getKey(slot);
    store.put(key, slot);

    assertThat(key).isEqualTo("lab/boot-3");
    AoeBootSlot held = store.get("lab/boot-3");
    assertThat(held.getMetadata().getManagedFields()).isNullOrEmpty();
    assertThat(held.getMetadata().getResourceVersion()).as("the rest of the metadata stays").isEqualTo("7");
    assertThat(store.size()).isEqualTo(1);
  }
}
