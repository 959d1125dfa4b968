/**
 * AoE version 1 message model and codec.
 *
 * <p>Source: "AoE (ATA over Ethernet)", S. Hopkins and B. Coile, The Brantley Coile Company,
 * revision 11 ("AoEr11", 2009). Section numbers in this package ({@code AoEr11 §n}) refer to that
 * document; the section title is given beside each number. ATA register values and the IDENTIFY
 * DEVICE layout come from ATA/ATAPI Command Set (ATA8-ACS).
 *
 * <p>Shapes: a frame is an Ethernet header (14 bytes), the AoE header (10 more bytes, 24 in all)
 * and the command's argument. {@link io.cowherd.aoe.frame.FrameDecoder} turns bytes into the
 * sealed {@link io.cowherd.aoe.frame.AoeMessage} hierarchy and
 * {@link io.cowherd.aoe.frame.FrameEncoder} does the reverse. Both are stateless. Code points
 * ({@link io.cowherd.aoe.frame.AoeCommand}, {@link io.cowherd.aoe.frame.AoeError},
 * {@link io.cowherd.aoe.frame.ConfigCommand}, {@link io.cowherd.aoe.frame.AtaCommand}) are small
 * value classes that keep values this code does not know.
 *
 * <p>This package depends on the JDK only.
 */
package io.cowherd.aoe.frame;
