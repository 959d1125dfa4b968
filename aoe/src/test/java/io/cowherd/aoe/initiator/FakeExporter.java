package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AoeConstants;
import io.cowherd.aoe.frame.AoeError;
import io.cowherd.aoe.frame.AoeMessage;
import io.cowherd.aoe.frame.AoeTarget;
import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.MacAddress;
import io.cowherd.aoe.frame.QueryConfigMessage;
import java.util.Arrays;
import java.util.Optional;

/**
 * An in-memory AoE exporter that answers like vblade: Query Config, IDENTIFY DEVICE, READ/WRITE
 * SECTORS EXT, FLUSH CACHE; IDNF past the end; ABRT for anything else (FLUSH CACHE EXT included).
 */
final class FakeExporter {

    final AoeTarget target;
    final MacAddress mac;
    final byte[] disk;
    int bufferCount = 16;
    int maxSectorsPerFrame = 2;
    /** When set, every ATA request is answered with the E flag and this error. */
    AoeError refuseWith;

    FakeExporter(AoeTarget target, MacAddress mac, byte[] disk) {
        this.target = target;
        this.mac = mac;
        this.disk = disk;
    }

    /** The reply to {@code request}, if this exporter answers it. */
    Optional<AoeMessage> answer(AoeMessage request) {
        if (request.isResponse() || !target.isAddressedBy(request.target())) {
            return Optional.empty();
        }
        return switch (request) {
            case QueryConfigMessage q -> Optional.of(new QueryConfigMessage(q.ethernet().reply().withSource(mac),
                    q.header().reply(target), bufferCount, 0x4016, maxSectorsPerFrame, 1, q.configCommand(), ""));
            case AtaMessage a when request.target().equals(target) -> Optional.of(ata(a));
            default -> Optional.empty();
        };
    }

    private AtaMessage ata(AtaMessage a) {
        var ethernet = a.ethernet().reply().withSource(mac);
        if (refuseWith != null) {
            return new AtaMessage(ethernet, a.header().errorReply(target, refuseWith), a.flags(), 0, a.sectorCount(),
                    a.cmdStatus(), a.lba(), new byte[0]);
        }
        long sectors = disk.length / AoeConstants.SECTOR_BYTES;
        int count = a.sectorCount();
        return switch (a.ataCommand().opcode()) {
            case 0xEC -> reply(a, ethernet, AoeConstants.ATA_STATUS_DRDY, 0, identify(sectors));
            case 0xE7 -> reply(a, ethernet, AoeConstants.ATA_STATUS_DRDY, 0, new byte[0]);
            case 0x24, 0x34 -> {
                if (count > maxSectorsPerFrame) {
                    yield new AtaMessage(ethernet, a.header().errorReply(target, AoeError.BAD_ARGUMENT), a.flags(),
                            0, count, a.cmdStatus(), a.lba(), new byte[0]);
                }
                if (a.lba() + count > sectors) {
                    yield reply(a, ethernet, AoeConstants.ATA_STATUS_DRDY | AoeConstants.ATA_STATUS_ERR,
                            AoeConstants.ATA_ERROR_IDNF, new byte[0]);
                }
                int from = (int) a.lba() * AoeConstants.SECTOR_BYTES;
                int bytes = count * AoeConstants.SECTOR_BYTES;
                if (a.flags().write()) {
                    System.arraycopy(a.data(), 0, disk, from, bytes);
                    yield reply(a, ethernet, AoeConstants.ATA_STATUS_DRDY, 0, new byte[0]);
                }
                yield reply(a, ethernet, AoeConstants.ATA_STATUS_DRDY, 0, Arrays.copyOfRange(disk, from, from + bytes));
            }
            default -> reply(a, ethernet, AoeConstants.ATA_STATUS_DRDY | AoeConstants.ATA_STATUS_ERR,
                    AoeConstants.ATA_ERROR_ABRT, new byte[0]);
        };
    }

    private AtaMessage reply(AtaMessage a, io.cowherd.aoe.frame.EthernetHeader ethernet, int status, int error,
            byte[] data) {
        return new AtaMessage(ethernet, a.header().reply(target), a.flags(), error, 0, status, a.lba(), data);
    }

    private static byte[] identify(long sectors) {
        byte[] block = new byte[512];
        String model = "Fake AoE exporter                       ";
        for (int i = 0; i < 20; i++) {
            block[2 * (27 + i)] = (byte) model.charAt(2 * i + 1);
            block[2 * (27 + i) + 1] = (byte) model.charAt(2 * i);
        }
        block[2 * 83 + 1] = 0x04; // word 83 bit 10: LBA48
        for (int i = 0; i < 6; i++) {
            block[200 + i] = (byte) (sectors >>> (8 * i)); // words 100-102
        }
        return block;
    }
}
