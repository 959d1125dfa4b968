/**
 * cowherd API, group {@code cowherd.io}, version {@code v1alpha1}.
 *
 * <p>{@link io.cowherd.api.v1alpha1.AoeBootPool} is written by users; {@link
 * io.cowherd.api.v1alpha1.AoeBootSlot} is written by the operator (spec) and by the node agent of
 * the slot's node (status). One writer per field. The CRDs are generated from these classes by the
 * fabric8 crd-generator v2 at build time.
 */
package io.cowherd.api.v1alpha1;
