package io.cowherd.agent.slot;

import static io.cowherd.agent.support.Slots.aSlot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.agent.host.ExporterLinks;
import io.cowherd.agent.host.VbladeTarget;
import io.cowherd.api.v1alpha1.AoeBootSlotSpec;
import io.cowherd.api.v1alpha1.CowBackend;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a slot spec must satisfy before anything on the host is touched, against temporary image
 * roots and a fake sysfs: images under an allowed root (symlinks and {@code ..} resolved), sizes in
 * whole sectors, AoE addresses in range, interface names vblade cannot misread and that are not named
 * like cowherd's own exporter links, and where the exporter binds ({@link ValidatedSlot#exportLink()}:
 * the NIC itself, or with {@link ExporterLinks.Placement#MACVLAN} the link derived from the address).
 */
class SlotValidatorTest {
  @TempDir Path tmp;
  private Path images;
  private Path outside;
  private SlotValidator validator;

  @BeforeEach
  void setUp() throws IOException {
    images = Files.createDirectories(tmp.resolve("images"));
    outside = Files.createDirectories(tmp.resolve("outside"));
    sized(images.resolve("ok.img"), 1 << 20);
    sized(outside.resolve("secret.img"), 1 << 20);
    Path sys = Files.createDirectories(tmp.resolve("sys/class/net/eth1"));
    validator = new SlotValidator(List.of(images), sys.getParent().getParent().getParent());
  }

  private static void sized(Path file, long bytes) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(bytes);
    }
  }

  private ValidatedSlot validate(AoeBootSlotSpec spec) {
    return validator.validate("lab", spec);
  }

  private void assertInvalid(AoeBootSlotSpec spec, String... messageParts) {
    assertThatThrownBy(() -> validate(spec)).isInstanceOf(InvalidSlotException.class).hasMessageContainingAll(messageParts);
  }

  @Test
  void acceptsAnImageUnderARootWithItsRealPathAndSize() throws IOException {
    ValidatedSlot v = validate(aSlot().image(images.resolve("ok.img").toString()).slot(4).build().getSpec());
    assertThat(v.origin()).isEqualTo(images.resolve("ok.img").toRealPath());
    assertThat(v.sizeBytes()).isEqualTo(1 << 20);
    assertThat(v.id().slot()).isEqualTo(4);
    assertThat(v.backend()).isEqualTo(CowBackend.DM_SNAPSHOT);
    assertThat(v.chunkSectors()).isEqualTo(64);
  }

  @Test
  void rejectsASymlinkInTheRootThatPointsOutOfIt() throws IOException {
    Path link = Files.createSymbolicLink(images.resolve("escape.img"), outside.resolve("secret.img"));
    assertInvalid(aSlot().image(link.toString()).spec(), "is not under an allowed image root", "secret.img");
  }

  @Test
  void acceptsASymlinkOutsideThatPointsIntoTheRoot() throws IOException {
    Path link = Files.createSymbolicLink(outside.resolve("in.img"), images.resolve("ok.img"));
    assertThat(validate(aSlot().image(link.toString()).spec()).origin()).isEqualTo(images.resolve("ok.img").toRealPath());
  }

  @Test
  void rejectsDotDotSegmentsEvenWhenTheyResolveInsideTheRoot() {
    assertInvalid(aSlot().image(images + "/../outside/secret.img").spec(), "'..'");
    assertInvalid(aSlot().image(images + "/sub/../ok.img").spec(), "'..'");
  }

  @Test
  void rejectsASiblingDirectoryThatOnlySharesTheRootsPrefix() throws IOException {
    Path sibling = Files.createDirectories(tmp.resolve("images2"));
    sized(sibling.resolve("a.img"), 4096);
    assertInvalid(aSlot().image(sibling.resolve("a.img").toString()).spec(), "is not under an allowed image root");
  }

  @Test
  void rejectsMissingRelativeAndNonFileImages() {
    assertInvalid(aSlot().image(images.resolve("missing.img").toString()).spec(), "does not exist on this node");
    assertInvalid(aSlot().image("images/ok.img").spec(), "is not an absolute path");
    assertInvalid(aSlot().image(images.toString()).spec(), "is not under an allowed image root");
  }

  @Test
  void rejectsADirectoryUnderTheRoot() throws IOException {
    Path dir = Files.createDirectories(images.resolve("dir.img"));
    assertInvalid(aSlot().image(dir.toString()).spec(), "neither a regular file nor a block device");
  }

  @Test
  void rejectsSizesThatAreNotAPositiveMultipleOf512() throws IOException {
    sized(images.resolve("odd.img"), 1000);
    sized(images.resolve("empty.img"), 0);
    assertInvalid(aSlot().image(images.resolve("odd.img").toString()).spec(), "1000 bytes", "multiple of 512");
    assertInvalid(aSlot().image(images.resolve("empty.img").toString()).spec(), "0 bytes", "multiple of 512");
  }

  @Test
  void rejectsAMalformedInterfaceButNotAMissingOne() {
    String ok = images.resolve("ok.img").toString();
    assertThat(validator.validate("lab", aSlot().image(ok).iface("eth9").spec()).iface())
        .as("a NIC that is not there (yet) is a host fault, reported by the observer").isEqualTo("eth9");
    assertInvalid(aSlot().image(ok).iface("../eth1").spec(), "is not a valid interface name");
    assertInvalid(aSlot().image(ok).iface("..").spec(), "is not a valid interface name");
  }

  @Test
  void rejectsAnInterfaceNameStartingWithADashEvenIfItExists() throws IOException {
    Path sys = tmp.resolve("sys");
    Files.createDirectories(sys.resolve("class/net/-d"));
    String ok = images.resolve("ok.img").toString();
    assertInvalid(aSlot().image(ok).iface("-d").spec(), "interface '-d' must not start with '-'");
  }

  @Test
  void rejectsAddressesOutOfRange() {
    String ok = images.resolve("ok.img").toString();
    assertInvalid(aSlot().image(ok).shelf(4095).spec(), "shelf 4095");
    assertInvalid(aSlot().image(ok).shelf(65535).spec(), "shelf 65535");
    assertInvalid(aSlot().image(ok).slot(255).spec(), "slot must be 0 to 254");
  }

  @Test
  void rejectsMissingFields() {
    AoeBootSlotSpec spec = aSlot().spec();
    spec.setImage(null);
    assertInvalid(spec, "spec.image is missing");
  }

  @Test
  void rejectsAnImageThatIsACapturesPartialFile() throws IOException {
    // a copy in progress or left by a crash: incomplete, and the next capture to that name deletes it
    sized(images.resolve(".new.img.capture-partial"), 1 << 20);
    assertInvalid(aSlot().image(images.resolve(".new.img.capture-partial").toString()).build().getSpec(),
        "capture-partial");
  }

  @Test
  void rejectsACaptureWhoseNameIsReservedForPartialFilesOrTooLongForOne() {
    assertThatThrownBy(() -> validator.captureTarget(images.resolve("x.capture-partial").toString()))
        .isInstanceOf(InvalidSlotException.class).hasMessageContaining("capture-partial");
    String longName = "a".repeat(250);
    assertThatThrownBy(() -> validator.captureTarget(images.resolve(longName).toString()))
        .isInstanceOf(InvalidSlotException.class).hasMessageContaining("too long");
  }

  @Test
  void capturePartialIsAHiddenSiblingOfTheTarget() throws IOException {
    assertThat(SlotValidator.capturePartial(images.resolve("new.img"))).isEqualTo(images.resolve(".new.img.capture-partial"));
    assertThat(validator.captureTarget(images.resolve("new.img").toString()))
        .isEqualTo(images.toRealPath().resolve("new.img"));
  }

  @Test
  void rejectsAPathWithANulAsASpecErrorNotAnUncaughtException() {
    // the CRD forbids NUL, but the agent reports, not crashes, on a spec that slipped past it
    assertThatThrownBy(() -> validator.captureTarget(images + "/a\0b"))
        .isInstanceOf(InvalidSlotException.class).hasMessageContaining("not a valid path");
    assertInvalid(aSlot().image(images + "/ok.img\0").build().getSpec(), "not a valid path");
  }

  @Test
  void rejectsAnInterfaceNamedLikeAnExporterLinkEvenIfItExists() throws IOException {
    Files.createDirectories(tmp.resolve("sys/class/net/cw000703"));
    String ok = images.resolve("ok.img").toString();
    assertInvalid(aSlot().image(ok).iface("cw000703").spec(), "interface 'cw000703'", "exporter link");
    assertInvalid(aSlot().image(ok).iface("cwfffefe").spec(), "exporter link");
    assertThat(validate(aSlot().image(ok).iface("cw0007").spec()).iface()).as("not cw + 6 hex digits")
        .isEqualTo("cw0007");
  }

  @Test
  void withMacvlanLinksTheExporterBindsTheDerivedLinkOnTheNic() {
    Path sys = tmp.resolve("sys");
    ExporterLinks links = new ExporterLinks(ExporterLinks.Placement.MACVLAN, ExporterLinks.DEFAULT_PREFIX, sys,
        command -> {
          throw new AssertionError("validation runs no command: " + command);
        }, "ip");
    SlotValidator macvlan = new SlotValidator(List.of(images), sys, links);
    ValidatedSlot v = macvlan.validate("lab",
        aSlot().image(images.resolve("ok.img").toString()).shelf(7).slot(3).iface("eth1").spec());
    assertThat(v.iface()).isEqualTo("eth1");
    assertThat(v.exportLink()).isEqualTo("cw000703");
    VbladeTarget t = v.target(Path.of("/dev/mapper/x"));
    assertThat(t.iface()).as("claims are judged on the NIC").isEqualTo("eth1");
    assertThat(t.link()).isEqualTo("cw000703");
    assertThat(t.ownLink()).isTrue();
  }

  @Test
  void withTheTwoArgumentConstructorTheExporterBindsTheNicItself() {
    ValidatedSlot v = validate(aSlot().image(images.resolve("ok.img").toString()).shelf(7).slot(3).iface("eth1").spec());
    assertThat(v.exportLink()).isEqualTo("eth1");
    VbladeTarget t = v.target(Path.of("/dev/mapper/x"));
    assertThat(t.link()).isEqualTo(t.iface()).isEqualTo("eth1");
    assertThat(t.ownLink()).isFalse();
  }
}
