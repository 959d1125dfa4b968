package io.cowherd.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageRootsTest {
  @TempDir Path tmp;

  @Test
  void imageRootInsideTheStateDirIsRefused() {
    Path state = tmp.resolve("var/lib/cowherd");

    assertThatThrownBy(() -> ImageRoots.requireApartFromStateDir(List.of(state.resolve("images")), state))
        .isInstanceOf(ImageRootOverlapException.class)
        .hasMessageContaining("lies inside the state dir")
        .hasMessageContaining("another pool's live COW store");
  }

  @Test
  void imageRootContainingTheStateDirIsRefused() {
    assertThatThrownBy(() -> ImageRoots.requireApartFromStateDir(List.of(tmp.resolve("srv")), tmp.resolve("srv/state")))
        .isInstanceOf(ImageRootOverlapException.class)
        .hasMessageContaining("contains the state dir");
  }

  @Test
  void imageRootEqualToTheStateDirIsRefusedAlsoWithTrailingDots() {
    assertThatThrownBy(() -> ImageRoots.requireApartFromStateDir(List.of(tmp.resolve("a/./b/")), tmp.resolve("a/c/../b")))
        .isInstanceOf(ImageRootOverlapException.class)
        .hasMessageContaining(" is the state dir");
  }

  @Test
  void imageRootThatIsASymlinkIntoTheStateDirIsRefused() throws IOException {
    Path state = Files.createDirectories(tmp.resolve("state"));
    Files.createDirectories(state.resolve("lab/debian"));
    Path link = Files.createSymbolicLink(tmp.resolve("images"), state.resolve("lab"));

    assertThatThrownBy(() -> ImageRoots.requireApartFromStateDir(List.of(link), state))
        .isInstanceOf(ImageRootOverlapException.class)
        .hasMessageContaining("real path " + state.toRealPath().resolve("lab"));
  }

  @Test
  void stateDirThatIsASymlinkIntoAnImageRootIsRefused() throws IOException {
    Path images = Files.createDirectories(tmp.resolve("images"));
    Files.createDirectories(images.resolve("cow"));
    Path state = Files.createSymbolicLink(tmp.resolve("state"), images.resolve("cow"));

    assertThatThrownBy(() -> ImageRoots.requireApartFromStateDir(List.of(images), state))
        .isInstanceOf(ImageRootOverlapException.class)
        .hasMessageContaining("contains the state dir");
  }

  @Test
  void siblingDirectoriesAndPrefixNamesAreAccepted() throws IOException {
    Path base = Files.createDirectories(tmp.resolve("srv/cowherd"));

    assertThatCode(() -> ImageRoots.requireApartFromStateDir(
        List.of(base.resolve("images"), base.resolve("state-images"), tmp.resolve("other")), base.resolve("state")))
        .doesNotThrowAnyException();
  }

  @Test
  void realPathResolvesTheExistingPrefixAndKeepsTheMissingRest() throws IOException {
    Path real = Files.createDirectories(tmp.resolve("real"));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), real);

    assertThat(ImageRoots.realPath(link.resolve("not/yet"))).isEqualTo(real.toRealPath().resolve("not/yet"));
  }
}
