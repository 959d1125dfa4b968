package io.cowherd.aoe.frame;

/**
 * Numbers of the AoE v1 wire format. Each constant names the section of AoEr11 (or ATA8-ACS /
 * IEEE 802.3) it comes from. Offsets are in bytes from the first byte of the Ethernet header.
 */
public final class AoeConstants {

    private AoeConstants() {}

    // ---- AoEr11 §2 (AoE Header Format) and §2.1 (Ethernet Addresses & Ethernet Type)

    /** Registered Ethernet type of AoE; AoEr11 §2.1 (Ethernet Source, Destination Addresses &amp; Ethernet Type). */
    public static final int ETHERTYPE_AOE = 0x88A2;
    /** Length of the Ethernet header (destination, source, type), bytes; AoEr11 §2 (header diagram, offsets 0–13). */
    public static final int ETHERNET_HEADER_BYTES = 14;
    /** Length of the Ethernet header plus the AoE header up to the Arg field, bytes; AoEr11 §2 (Arg starts at offset 24). */
    public static final int AOE_HEADER_BYTES = 24;
    /** Offset of the destination MAC address; AoEr11 §2.1. */
    public static final int OFFSET_DESTINATION = 0;
    /** Offset of the source MAC address; AoEr11 §2.1. */
    public static final int OFFSET_SOURCE = 6;
    /** Offset of the Ethernet type (big-endian 16 bit); AoEr11 §2.1. */
    public static final int OFFSET_ETHERTYPE = 12;
    /** Offset of the byte holding Ver (high nibble) and Flags (low nibble); AoEr11 §2.2 (Ver), §2.3 (Flags). */
    public static final int OFFSET_VERSION_FLAGS = 14;
    /** Offset of the Error byte; AoEr11 §2.4 (Error). */
    public static final int OFFSET_ERROR = 15;
    /** Offset of Major, the shelf (big-endian 16 bit); AoEr11 §2.5 (Major / Minor). */
    public static final int OFFSET_MAJOR = 16;
    /** Offset of Minor, the slot (8 bit); AoEr11 §2.5 (Major / Minor). */
    public static final int OFFSET_MINOR = 18;
    /** Offset of the Command byte; AoEr11 §2.6 (Command). */
    public static final int OFFSET_COMMAND = 19;
    /** Offset of the Tag (big-endian 32 bit, opaque to the target); AoEr11 §2.7 (Tag). */
    public static final int OFFSET_TAG = 20;
    /** Offset of the command-specific Arg field; AoEr11 §2.8 (Arg). */
    public static final int OFFSET_ARG = 24;

    /** The protocol version this code speaks and accepts; AoEr11 §2.2 (Ver). */
    public static final int AOE_VERSION = 1;
    /** Response flag R in the Flags nibble: set in every message a target sends; AoEr11 §2.3 (Flags). */
    public static final int FLAG_RESPONSE = 0x08;
    /** Error flag E in the Flags nibble: the Error field is valid; AoEr11 §2.3 (Flags). */
    public static final int FLAG_ERROR = 0x04;

    /** Major (shelf) value addressing every shelf; AoEr11 §2.5 (Major / Minor). */
    public static final int BROADCAST_SHELF = 0xFFFF;
    /** Minor (slot) value addressing every slot; AoEr11 §2.5 (Major / Minor). */
    public static final int BROADCAST_SLOT = 0xFF;

    // ---- AoEr11 §3 (ATA Message, Command 0)

    /** Length of Ethernet + AoE header + ATA argument header, bytes; data starts here; AoEr11 §3. */
    public static final int ATA_HEADER_BYTES = 36;
    /** Offset of AFlags; AoEr11 §3.1 (AFlags). */
    public static final int OFFSET_ATA_AFLAGS = 24;
    /** Offset of Err/Feature; AoEr11 §3.2 (Err/Feature). */
    public static final int OFFSET_ATA_ERR_FEATURE = 25;
    /** Offset of Sector Count; AoEr11 §3.3 (Sector Count). */
    public static final int OFFSET_ATA_SECTOR_COUNT = 26;
    /** Offset of Cmd/Status; AoEr11 §3.4 (Cmd/Status). */
    public static final int OFFSET_ATA_CMD_STATUS = 27;
    /** Offset of lba0 (least significant byte; lba5 is at +5); AoEr11 §3.5 (lba0-lba5). */
    public static final int OFFSET_ATA_LBA = 28;
    /** Offset of the two reserved bytes after lba5; AoEr11 §3 (header diagram). */
    public static final int OFFSET_ATA_RESERVED = 34;
    /** Offset of the data (sectors written or read); AoEr11 §3.6 (Data). */
    public static final int OFFSET_ATA_DATA = 36;
    /** AFlags E: LBA48 extended command; AoEr11 §3.1 (AFlags). */
    public static final int AFLAG_EXTENDED = 0x40;
    /** AFlags D: device/head register bit 4; AoEr11 §3.1 (AFlags). */
    public static final int AFLAG_DEVICE = 0x10;
    /** AFlags A: asynchronous write, no response wanted; AoEr11 §3.1 (AFlags). */
    public static final int AFLAG_ASYNC = 0x02;
    /** AFlags W: the message carries data to write; AoEr11 §3.1 (AFlags). */
    public static final int AFLAG_WRITE = 0x01;
    /** Largest value of the one-byte Sector Count, sectors; AoEr11 §3.3 (Sector Count). */
    public static final int MAX_ATA_SECTOR_COUNT = 0xFF;
    /** Largest 48-bit LBA, sectors; AoEr11 §3.5 (lba0-lba5). */
    public static final long MAX_LBA48 = (1L << 48) - 1;
    /** Bytes in one ATA sector as AoE transfers it; AoEr11 §3.6 (Data: multiples of 512 bytes). */
    public static final int SECTOR_BYTES = 512;

    // ---- AoEr11 §4 (Query Config Information, Command 1)

    /** Length of Ethernet + AoE header + Query Config argument header, bytes; AoEr11 §4. */
    public static final int QUERY_CONFIG_HEADER_BYTES = 32;
    /** Offset of Buffer Count (big-endian 16 bit); AoEr11 §4.1 (Buffer Count). */
    public static final int OFFSET_CONFIG_BUFFER_COUNT = 24;
    /** Offset of Firmware Version (big-endian 16 bit); AoEr11 §4.2 (Firmware Version). */
    public static final int OFFSET_CONFIG_FIRMWARE = 26;
    /** Offset of Sector Count, the most sectors one ATA command may carry; AoEr11 §4.3 (Sector Count). */
    public static final int OFFSET_CONFIG_SECTOR_COUNT = 28;
    /** Offset of the byte holding AoE Ver (high nibble) and CCmd (low nibble); AoEr11 §4.4 (AoE Ver), §4.5 (CCmd). */
    public static final int OFFSET_CONFIG_VERSION_CCMD = 29;
    /** Offset of Config String Length (big-endian 16 bit, bytes); AoEr11 §4.6 (Config String Length). */
    public static final int OFFSET_CONFIG_STRING_LENGTH = 30;
    /** Offset of the config string; AoEr11 §4.7 (Config String). */
    public static final int OFFSET_CONFIG_STRING = 32;
    /** Longest config string, bytes; AoEr11 §4.6 (Config String Length). */
    public static final int MAX_CONFIG_STRING_BYTES = 1024;

    // ---- ATA8-ACS, as carried in Cmd/Status (AoEr11 §3.4)

    /** ATA status ERR: the command ended in error, see the error register; ATA8-ACS (Status field). */
    public static final int ATA_STATUS_ERR = 0x01;
    /** ATA status DF: device fault; ATA8-ACS (Status field). */
    public static final int ATA_STATUS_DF = 0x20;
    /** ATA status DRDY: device ready; ATA8-ACS (Status field). */
    public static final int ATA_STATUS_DRDY = 0x40;
    /** ATA status BSY: device busy; ATA8-ACS (Status field). */
    public static final int ATA_STATUS_BSY = 0x80;
    /** ATA error ABRT: command aborted (e.g. unsupported); ATA8-ACS (Error field). */
    public static final int ATA_ERROR_ABRT = 0x04;
    /** ATA error IDNF: address out of range; ATA8-ACS (Error field). */
    public static final int ATA_ERROR_IDNF = 0x10;

    // ---- IEEE 802.3

    /** Shortest Ethernet frame on the wire without FCS, bytes; shorter frames are padded by the sender's NIC (IEEE 802.3 §3.2.8). veth does not pad. */
    public static final int MIN_ETHERNET_FRAME_BYTES = 60;
}
