package io.cowherd.aoe.initiator;

import static io.cowherd.aoe.frame.AoeConstants.SECTOR_BYTES;

import io.cowherd.aoe.frame.AtaCommand;
import io.cowherd.aoe.frame.AtaFlags;
import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.EthernetHeader;
import java.util.Arrays;

/**
 * A read or write of a sector range as frames of at most {@code sectorsPerFrame} sectors, each an
 * LBA48 command (READ SECTORS EXT with AFlags E, or WRITE SECTORS EXT with E and W); AoEr11 §3.
 * Read replies are copied straight into the caller's buffer.
 */
final class SectorPlan implements FramePlan {

    private final boolean write;
    private final long lba;
    private final int sectorCount;
    private final int sectorsPerFrame;
    private final byte[] buffer;
    private final int offset;

    private SectorPlan(boolean write, long lba, int sectorCount, int sectorsPerFrame, byte[] buffer, int offset) {
        this.write = write;
        this.lba = lba;
        this.sectorCount = sectorCount;
        this.sectorsPerFrame = sectorsPerFrame;
        this.buffer = buffer;
        this.offset = offset;
    }

    static SectorPlan read(long lba, int sectorCount, int sectorsPerFrame, byte[] destination, int offset) {
        return new SectorPlan(false, lba, sectorCount, sectorsPerFrame, destination, offset);
    }

    static SectorPlan write(long lba, int sectorCount, int sectorsPerFrame, byte[] source, int offset) {
        return new SectorPlan(true, lba, sectorCount, sectorsPerFrame, source, offset);
    }

    @Override
    public int frameCount() {
        return (sectorCount + sectorsPerFrame - 1) / sectorsPerFrame;
    }

    private int sectorsIn(int index) {
        return Math.min(sectorsPerFrame, sectorCount - index * sectorsPerFrame);
    }

    private int bufferOffset(int index) {
        return offset + index * sectorsPerFrame * SECTOR_BYTES;
    }

    private long lbaOf(int index) {
        return lba + (long) index * sectorsPerFrame;
    }

    @Override
    public AtaMessage request(int index, EthernetHeader ethernet, DiscoveredTarget path, int tag) {
        int sectors = sectorsIn(index);
        if (write) {
            int from = bufferOffset(index);
            byte[] data = Arrays.copyOfRange(buffer, from, from + sectors * SECTOR_BYTES);
            return AtaMessage.request(ethernet, path.target(), tag, AtaFlags.EXTENDED_WRITE,
                    AtaCommand.WRITE_SECTORS_EXT, lbaOf(index), sectors, data);
        }
        return AtaMessage.request(ethernet, path.target(), tag, AtaFlags.EXTENDED, AtaCommand.READ_SECTORS_EXT,
                lbaOf(index), sectors, null);
    }

    @Override
    public void accept(int index, AtaMessage reply) throws AoeProtocolException {
        if (write) {
            return;
        }
        int expectedBytes = sectorsIn(index) * SECTOR_BYTES;
        if (reply.dataLengthBytes() != expectedBytes) {
            throw new AoeProtocolException(reply.target(), "reply to " + describe(index) + " carries "
                    + reply.dataLengthBytes() + " bytes of data, expected " + expectedBytes);
        }
        System.arraycopy(reply.data(), 0, buffer, bufferOffset(index), expectedBytes);
    }

    @Override
    public String describe(int index) {
        return (write ? "WRITE_SECTORS_EXT" : "READ_SECTORS_EXT") + " lba=" + lbaOf(index) + " sectorCount="
                + sectorsIn(index);
    }
}
