package io.cowherd.agent.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class HostCommandTest {
  @Test
  void toStringQuotesElementsWithSpacesForHumans() {
    HostCommand c = HostCommand.of("dmsetup", "create", "x", "--table", "0 8 snapshot a b P 64");
    assertThat(c).hasToString("dmsetup create x --table '0 8 snapshot a b P 64'");
    assertThat(c.argv()).hasSize(5);
  }

  @Test
  void rejectsEmptyArgvAndNonPositiveTimeout() {
    assertThatThrownBy(() -> new HostCommand(List.of(), Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new HostCommand(List.of("true"), Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
  }
}
