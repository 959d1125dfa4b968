package io.cowherd.api.v1alpha1;

/**
 * How a pool gets its clients. {@code Manual}: only {@code AoeBootClient}s a user creates are
 * assigned slots. {@code Automatic}: the node agents' boot endpoint also enrols a MAC it does not
 * know into the pool (it creates the {@code AoeBootClient}; the operator assigns the slot).
 */
public enum ClientEnrollment {
  Manual,
  Automatic
}
