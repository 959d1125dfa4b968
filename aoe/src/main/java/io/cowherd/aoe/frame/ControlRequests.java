package io.cowherd.aoe.frame;

import static io.cowherd.aoe.frame.Bpf.AND_K;
import static io.cowherd.aoe.frame.Bpf.JEQ_K;
import static io.cowherd.aoe.frame.Bpf.JSET_K;
import static io.cowherd.aoe.frame.Bpf.LD_ABS_BYTE;
import static io.cowherd.aoe.frame.Bpf.RET_K;
import static io.cowherd.aoe.frame.Bpf.insn;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The AoE requests that change a target's state rather than its data: MAC Mask List edits
 * (command 2, AoEr11 §5), Reserve/Release set and force set (command 3, AoEr11 §6) and Query
 * Config set / force set of the config string (command 1, CCmd 3 and 4, AoEr11 §4.5). Builds them
 * (tests play a rogue initiator with them), recognises them, and gives a classic BPF program that
 * passes only them (and their reads) to a listening socket.
 *
 * <p>Wire layout of the arguments after the 24-byte header: MAC Mask List = Reserved, MCmd (0 read,
 * 1 edit), MError, Dir Count, then Dir Count directives of 8 bytes (Reserved, DCmd: 0 none, 1 add,
 * 2 delete; MAC); Reserve/Release = RCmd (0 read, 1 set, 2 force set), NMacs, then NMacs MACs.
 */
public final class ControlRequests {
    /** MAC Mask List MCmd edit; AoEr11 §5. */
    public static final int MASK_EDIT = 1;
    /** MAC Mask List directive: add a MAC; AoEr11 §5. */
    public static final int DIRECTIVE_ADD = 1;
    /** MAC Mask List directive: delete a MAC; AoEr11 §5. */
    public static final int DIRECTIVE_DELETE = 2;
    /** Reserve/Release RCmd set (only if not reserved by another); AoEr11 §6. */
    public static final int RESERVE_SET = 1;
    /** Reserve/Release RCmd force set; AoEr11 §6. */
    public static final int RESERVE_FORCE_SET = 2;

    private ControlRequests() {}

    /** One MAC Mask List directive. @param command {@link #DIRECTIVE_ADD} or {@link #DIRECTIVE_DELETE} (0 = none) */
    public record Directive(int command, MacAddress mac) {}

    /** A MAC Mask List request: read when {@code directives} is empty, else edit. */
    public static UnsupportedCommandMessage macMaskList(EthernetHeader ethernet, AoeTarget target, int tag,
            List<Directive> directives) {
        byte[] arg = new byte[4 + 8 * directives.size()];
        arg[1] = (byte) (directives.isEmpty() ? 0 : MASK_EDIT);
        arg[3] = (byte) directives.size();
        for (int i = 0; i < directives.size(); i++) {
            arg[4 + 8 * i + 1] = (byte) directives.get(i).command();
            directives.get(i).mac().write(arg, 4 + 8 * i + 2);
        }
        return new UnsupportedCommandMessage(ethernet, AoeHeader.request(target, AoeCommand.MAC_MASK_LIST, tag), arg);
    }

    /** A Reserve/Release request; {@code command} 0 read, {@link #RESERVE_SET}, {@link #RESERVE_FORCE_SET}. */
    public static UnsupportedCommandMessage reserveRelease(EthernetHeader ethernet, AoeTarget target, int tag,
            int command, List<MacAddress> macs) {
        byte[] arg = new byte[2 + 6 * macs.size()];
        arg[0] = (byte) command;
        arg[1] = (byte) macs.size();
        for (int i = 0; i < macs.size(); i++) {
            macs.get(i).write(arg, 2 + 6 * i);
        }
        return new UnsupportedCommandMessage(ethernet, AoeHeader.request(target, AoeCommand.RESERVE_RELEASE, tag), arg);
    }

    /** A Query Config request setting the config string ({@link ConfigCommand#SET} or {@link ConfigCommand#FORCE_SET}). */
    public static QueryConfigMessage setConfig(EthernetHeader ethernet, AoeTarget target, int tag,
            ConfigCommand command, String configString) {
        return new QueryConfigMessage(ethernet, AoeHeader.request(target, AoeCommand.QUERY_CONFIG, tag), 0, 0, 0,
                AoeConstants.AOE_VERSION, command, configString);
    }

    /**
     * What {@code message} would change on a target, if it is a request that changes state: e.g.
     * {@code "MAC Mask List edit (add 02:00:00:00:00:01)"}, {@code "Reserve/Release force set"},
     * {@code "Query Config FORCE_SET"}. Reads, responses and data commands give empty.
     */
    public static Optional<String> stateChange(AoeMessage message) {
        if (message.isResponse()) {
            return Optional.empty();
        }
        return switch (message) {
            case QueryConfigMessage q when q.configCommand().equals(ConfigCommand.SET)
                    || q.configCommand().equals(ConfigCommand.FORCE_SET) ->
                Optional.of("Query Config " + q.configCommand() + " of the config string");
            case UnsupportedCommandMessage u when u.header().command().equals(AoeCommand.MAC_MASK_LIST) ->
                maskEdit(u.argument());
            case UnsupportedCommandMessage u when u.header().command().equals(AoeCommand.RESERVE_RELEASE) -> {
                int rcmd = u.argument().length > 0 ? u.argument()[0] & 0xFF : 0;
                yield rcmd == 0 ? Optional.empty()
                        : Optional.of("Reserve/Release " + (rcmd == RESERVE_SET ? "set" : rcmd == RESERVE_FORCE_SET
                                ? "force set" : "command " + rcmd));
            }
            default -> Optional.empty();
        };
    }

    private static Optional<String> maskEdit(byte[] arg) {
        if (arg.length < 4 || (arg[1] & 0xFF) == 0) {
            return Optional.empty();
        }
        List<String> what = new ArrayList<>();
        int count = arg[3] & 0xFF;
        for (int i = 0; i < count && 4 + 8 * i + 8 <= arg.length; i++) {
            int dcmd = arg[4 + 8 * i + 1] & 0xFF;
            String mac = MacAddress.read(arg, 4 + 8 * i + 2).toString();
            what.add((dcmd == DIRECTIVE_ADD ? "add " : dcmd == DIRECTIVE_DELETE ? "delete " : "directive " + dcmd + " ")
                    + mac);
        }
        return Optional.of("MAC Mask List edit (" + (what.isEmpty() ? "no directives" : String.join(", ", what)) + ")");
    }

    /**
     * A classic BPF program (filter.h {@code struct sock_filter}, one instruction per element as
     * {@code code << 48 | jt << 40 | jf << 32 | k}) for an AoE packet socket that accepts only
     * requests (R flag clear, byte 14 bit 0x08) of command 2 or 3 (byte 19), or command 1 with CCmd
     * (low nibble of byte 29) 3 or 4. Everything else, ATA data above all, stays in the kernel.
     */
    public static long[] bpfFilter() {
        return new long[] {
            insn(LD_ABS_BYTE, 0, 0, AoeConstants.OFFSET_VERSION_FLAGS), // 0
            insn(JSET_K, 8, 0, AoeConstants.FLAG_RESPONSE), //             1: response -> 10 (drop)
            insn(LD_ABS_BYTE, 0, 0, AoeConstants.OFFSET_COMMAND), //       2
            insn(JEQ_K, 7, 0, AoeCommand.MAC_MASK_LIST.code()), //         3: -> 11 (accept)
            insn(JEQ_K, 6, 0, AoeCommand.RESERVE_RELEASE.code()), //       4: -> 11
            insn(JEQ_K, 0, 4, AoeCommand.QUERY_CONFIG.code()), //          5: else -> 10
            insn(LD_ABS_BYTE, 0, 0, AoeConstants.OFFSET_CONFIG_VERSION_CCMD), // 6
            insn(AND_K, 0, 0, 0x0F), //                                    7
            insn(JEQ_K, 2, 0, ConfigCommand.SET.code()), //                8: -> 11
            insn(JEQ_K, 1, 0, ConfigCommand.FORCE_SET.code()), //          9: -> 11, else 10
            insn(RET_K, 0, 0, 0), //                                       10: drop
            insn(RET_K, 0, 0, 0xFFFF), //                                  11: accept up to 65535 bytes
        };
    }
}
