package io.cowherd.aoe.initiator;

import io.cowherd.aoe.frame.AtaCommand;
import io.cowherd.aoe.frame.AtaFlags;
import io.cowherd.aoe.frame.AtaIdentity;
import io.cowherd.aoe.frame.AtaMessage;
import io.cowherd.aoe.frame.EthernetHeader;

/** ATA IDENTIFY DEVICE (0xEC): one frame, sector count 1, reply of one 512-byte block. */
final class IdentifyPlan implements FramePlan {

    AtaIdentity identity;

    @Override
    public int frameCount() {
        return 1;
    }

    @Override
    public AtaMessage request(int index, EthernetHeader ethernet, DiscoveredTarget path, int tag) {
        return AtaMessage.request(ethernet, path.target(), tag, AtaFlags.NONE, AtaCommand.IDENTIFY_DEVICE, 0, 1, null);
    }

    @Override
    public void accept(int index, AtaMessage reply) throws AoeProtocolException {
        if (reply.dataLengthBytes() < AtaIdentity.BLOCK_BYTES) {
            throw new AoeProtocolException(reply.target(), "IDENTIFY DEVICE reply carries " + reply.dataLengthBytes()
                    + " bytes of data, expected 512");
        }
        identity = AtaIdentity.parse(reply.data(), 0);
    }

    @Override
    public String describe(int index) {
        return "IDENTIFY_DEVICE";
    }
}
