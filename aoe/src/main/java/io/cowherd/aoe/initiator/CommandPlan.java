package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AtaCommand;
import io.cowherd.aoe.frame.AtaFlags;
import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.EthernetHeader;

/** One ATA command without data, e.g. FLUSH CACHE (0xE7). */
final class CommandPlan implements FramePlan {

    private final AtaCommand command;

    CommandPlan(AtaCommand command) {
        this.command = command;
    }

    @Override
    public int frameCount() {
        return 1;
    }

    @Override
    public AtaMessage request(int index, EthernetHeader ethernet, DiscoveredTarget path, int tag) {
        return AtaMessage.request(ethernet, path.target(), tag, AtaFlags.NONE, command, 0, 0, null);
    }

    @Override
    public void accept(int index, AtaMessage reply) {
        // success is the absence of AoE and ATA errors, checked by the pipeline
    }

    @Override
    public String describe(int index) {
        return command.toString();
    }
}
