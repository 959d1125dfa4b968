package io.cowherd.aoe.frame;

import java.util.Arrays;
import java.util.Objects;

/**
 * An ATA message (AoE command 0): a request carries an ATA command, its reply the ATA status;
 * AoEr11 §3 (ATA Message).
 *
 * <p>The {@code data} array is neither copied in nor out, so that the initiator can move frames
 * without extra copies: do not change it after building the message. {@link #equals} and
 * {@link #hashCode} compare its contents.
 *
 * @param ethernet addresses; AoEr11 §2.1
 * @param header AoE header; its command must be {@link AoeCommand#ATA}
 * @param flags AoEr11 §3.1 (AFlags)
 * @param errFeature feature register in a request, error register in a reply, 0–255; AoEr11 §3.2
 * @param sectorCount sectors (512 bytes each) to transfer in a request; sectors not transferred
 *     in a reply (0 on success with vblade), 0–255; AoEr11 §3.3
 * @param cmdStatus ATA command in a request, ATA status in a reply, 0–255; AoEr11 §3.4
 * @param lba first sector, 0 to 2<sup>48</sup>−1; AoEr11 §3.5 (lba0-lba5)
 * @param data sectors written (request with W) or read (reply), a multiple of 512 bytes; for a
 *     request with W exactly {@code sectorCount × 512} bytes; AoEr11 §3.6 (Data)
 */
public record AtaMessage(
        EthernetHeader ethernet,
        AoeHeader header,
        AtaFlags flags,
        int errFeature,
        int sectorCount,
        int cmdStatus,
        long lba,
        byte[] data)
        implements AoeMessage {

    private static final byte[] NO_DATA = new byte[0];

    /**
     * @throws IllegalArgumentException if a field is out of range, the header's command is not ATA,
     *     the data is not whole sectors, or a write request's data does not match its sector count
     */
    public AtaMessage {
        Objects.requireNonNull(ethernet, "ethernet");
        Objects.requireNonNull(header, "header");
        Objects.requireNonNull(flags, "flags");
        Objects.requireNonNull(data, "data");
        if (!header.command().equals(AoeCommand.ATA)) {
            throw new IllegalArgumentException("an ATA message needs command ATA, got " + header.command());
        }
        CodePoints.checkByte("err/feature", errFeature);
        CodePoints.checkByte("sector count", sectorCount);
        CodePoints.checkByte("cmd/status", cmdStatus);
        CodePoints.checkRange("lba", lba, AoeConstants.MAX_LBA48);
        if (data.length % AoeConstants.SECTOR_BYTES != 0) {
            throw new IllegalArgumentException("ATA data must be whole 512-byte sectors, got " + data.length + " bytes");
        }
        if (flags.write() && !header.response() && data.length != sectorCount * AoeConstants.SECTOR_BYTES) {
            throw new IllegalArgumentException("a write request of " + sectorCount + " sectors needs "
                    + sectorCount * AoeConstants.SECTOR_BYTES + " bytes of data, got " + data.length);
        }
    }

    /**
     * A request.
     *
     * @param sectorCount sectors to transfer, 0–255
     * @param data the sectors to write (W set), or {@code null} / empty for none
     */
    public static AtaMessage request(
            EthernetHeader ethernet, AoeTarget target, int tag, AtaFlags flags, AtaCommand command, long lba,
            int sectorCount, byte[] data) {
        return new AtaMessage(ethernet, AoeHeader.request(target, AoeCommand.ATA, tag), flags, 0, sectorCount,
                command.opcode(), lba, data == null ? NO_DATA : data);
    }

    /** The command of a request (Cmd/Status read as a command). */
    public AtaCommand ataCommand() {
        return AtaCommand.valueOf(cmdStatus);
    }

    /** Whether a reply's ATA status has ERR or DF set; AoEr11 §3.4, ATA8-ACS (Status field). */
    public boolean hasAtaError() {
        return (cmdStatus & (AoeConstants.ATA_STATUS_ERR | AoeConstants.ATA_STATUS_DF)) != 0;
    }

    /** Length of {@link #data()} in bytes. */
    public int dataLengthBytes() {
        return data.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AtaMessage m
                && ethernet.equals(m.ethernet) && header.equals(m.header) && flags.equals(m.flags)
                && errFeature == m.errFeature && sectorCount == m.sectorCount && cmdStatus == m.cmdStatus
                && lba == m.lba && Arrays.equals(data, m.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(ethernet, header, flags, errFeature, sectorCount, cmdStatus, lba, Arrays.hashCode(data));
    }

    /**
     * Protocol notation, e.g. {@code 02:..:01 > 02:..:02 v1 e7.3 ATA tag=0x00000001 aflags=E
     * cmd=READ_SECTORS_EXT lba=2048 sectorCount=2} or, for a reply, {@code ... status=0x40 err=0x00 data=1024 bytes}.
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder().append(ethernet).append(' ').append(header)
                .append(" aflags=").append(flags);
        if (header.response()) {
            sb.append(" status=0x%02x err=0x%02x".formatted(cmdStatus, errFeature));
        } else {
            sb.append(" cmd=").append(ataCommand());
            if (errFeature != 0) {
                sb.append(" feature=0x%02x".formatted(errFeature));
            }
        }
        sb.append(" lba=").append(lba).append(" sectorCount=").append(sectorCount);
        if (data.length > 0) {
            sb.append(" data=").append(data.length).append(" bytes");
        }
        return sb.toString();
    }
}
