package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cowherd.agent.support.HostTools;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real losetup on files this test creates: the JSON it parses, read-only origins, detach. */
@Tag("host")
class LosetupHostTest {
  @TempDir Path tmp;
  private final Losetup losetup = new Losetup(new ExecCommandRunner());
  private final List<String> attached = new ArrayList<>();

  @BeforeEach
  void requireRoot() {
    HostTools.requireRoot();
  }

  @AfterEach
  void detachAll() {
    attached.forEach(d -> HostTools.runQuietly("losetup", "--detach", d));
  }

  private Path file(String name) throws IOException {
    Path p = tmp.resolve(name);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    return p;
  }

  @Test
  void attachesReadOnlyFindsByBackFileAndDetaches() throws IOException {
    Path origin = file("origin.img");
    Path cow = file("slot-0.cow");
    String ro = losetup.attachReadOnly(origin);
    attached.add(ro);
    String rw = losetup.attach(cow);
    attached.add(rw);

    LoopDevice o = losetup.findByBackFile(origin).getFirst();
    assertThat(o.name()).isEqualTo(ro);
    assertThat(o.readOnly()).isTrue();
    assertThat(o.majMin()).matches("7:\\d+");
    assertThat(losetup.findByBackFile(cow).getFirst().readOnly()).isFalse();

    losetup.detach(ro);
    assertThat(losetup.findByBackFile(origin)).isEmpty();
    assertThatThrownBy(() -> losetup.detach(ro))
        .isInstanceOfSatisfying(CommandFailedException.class, e -> assertThat(Losetup.isNotFound(e)).isTrue());
  }
}
