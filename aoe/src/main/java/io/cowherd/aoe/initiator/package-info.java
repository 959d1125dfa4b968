/**
 * An AoE initiator in plain Java: {@link io.cowherd.aoe.initiator.AoeInitiator} discovers targets
 * (Query Config, AoEr11 §4), identifies them (ATA IDENTIFY DEVICE) and reads and writes 512-byte
 * sectors (ATA READ/WRITE SECTORS EXT, AoEr11 §3) with several tags in flight, retransmission
 * and typed failures ({@link io.cowherd.aoe.initiator.AoeTimeoutException},
 * {@link io.cowherd.aoe.initiator.AoeErrorException},
 * {@link io.cowherd.aoe.initiator.AoeProtocolException}). It runs over any
 * {@link io.cowherd.aoe.net.FrameChannel}, normally a {@link io.cowherd.aoe.net.RawSocket}.
 */
package io.cowherd.aoe.initiator;
