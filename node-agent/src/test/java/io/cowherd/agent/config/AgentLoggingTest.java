package io.cowherd.agent.config;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import java.net.URI;
import java.net.URL;
import java.util.Collections;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** The agent's Logback set-up from COWHERD_LOG_FORMAT and COWHERD_LOG_LEVEL. */
class AgentLoggingTest {
  private static LoggerContext configured(Map<String, String> env, Map<String, String> properties,
      Configurator.ExecutionStatus expected) {
    return configured(env, properties, null, expected);
  }

  private static LoggerContext configured(Map<String, String> env, Map<String, String> properties, URL found,
      Configurator.ExecutionStatus expected) {
    LoggerContext context = new LoggerContext();
    AgentLogging logging = new AgentLogging(env::get, properties::get, c -> found);
    logging.setContext(context);
    assertThat(logging.configure(context)).isEqualTo(expected);
    return context;
  }

  private static ConsoleAppender<ILoggingEvent> appender(LoggerContext context) {
    return (ConsoleAppender<ILoggingEvent>) context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender(AgentLogging.APPENDER);
  }

  @Test
  void defaultsAreTextOnStandardOutputAndInfo() {
    LoggerContext context = configured(Map.of(), Map.of(), Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);

    assertThat(appender(context).getEncoder()).isInstanceOfSatisfying(PatternLayoutEncoder.class,
        e -> assertThat(e.getPattern()).isEqualTo(AgentLogging.PATTERN));
    assertThat(appender(context).getTarget()).isEqualTo("System.out");
    assertThat(appender(context).isStarted()).isTrue();
    assertThat(context.getLogger("io.cowherd.agent.slot.SlotReconciler").getEffectiveLevel()).isEqualTo(Level.INFO);
    assertThat(context.getLogger("io.fabric8.kubernetes").getEffectiveLevel()).isEqualTo(Level.INFO);
  }

  @Test
  void jsonFormatAndDebugLevelApplyToCowherdLoggersOnly() {
    LoggerContext context = configured(Map.of("COWHERD_LOG_FORMAT", "json", "COWHERD_LOG_LEVEL", "DEBUG"), Map.of(),
        Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);

    assertThat(appender(context).getEncoder()).isInstanceOf(JsonEncoder.class);
    assertThat(context.getLogger("io.cowherd.agent.Main").getEffectiveLevel()).isEqualTo(Level.DEBUG);
    assertThat(context.getLogger("io.javaoperatorsdk").getEffectiveLevel()).isEqualTo(Level.INFO);
  }

  @Test
  void badValuesFallBackWithAWarningInLogbacksStatus() {
    LoggerContext context = configured(Map.of("COWHERD_LOG_FORMAT", "xml", "COWHERD_LOG_LEVEL", "LOUD"), Map.of(),
        Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);

    assertThat(appender(context).getEncoder()).isInstanceOf(PatternLayoutEncoder.class);
    assertThat(context.getLogger("io.cowherd").getEffectiveLevel()).isEqualTo(Level.INFO);
    assertThat(context.getStatusManager().getCopyOfStatusList()).extracting(s -> s.getMessage())
        .anySatisfy(m -> assertThat(m).contains("COWHERD_LOG_FORMAT=xml"))
        .anySatisfy(m -> assertThat(m).contains("COWHERD_LOG_LEVEL=LOUD"));
  }

  @Test
  void aConfigurationFileLogbackFindsWins() throws Exception {
    LoggerContext context = configured(Map.of(), Map.of("logback.configurationFile", "/etc/cowherd/logback.xml"),
        URI.create("file:/etc/cowherd/logback.xml").toURL(), Configurator.ExecutionStatus.NEUTRAL);

    assertThat(appender(context)).isNull();
  }

  @Test
  void aConfigurationFileThatNamesNothingIsReportedAndTheAgentsConfigurationApplies() {
    LoggerContext context = configured(Map.of(), Map.of("logback.configurationFile", "/etc/cowherd/missing.xml"),
        Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);

    assertThat(appender(context).getEncoder()).isInstanceOf(PatternLayoutEncoder.class);
    assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getLevel()).isEqualTo(Level.INFO);
    assertThat(context.getStatusManager().getCopyOfStatusList()).extracting(s -> s.getMessage())
        .anySatisfy(m -> assertThat(m).contains("/etc/cowherd/missing.xml"));
  }

  @Test
  void theAgentShipsNoLogbackXml() throws Exception {
    // Else Logback's search would find it in the agent's own JVM and this configurator would step aside.
    String agentClasses = AgentLogging.class.getProtectionDomain().getCodeSource().getLocation().toString();
    for (String name : new String[] {"logback.xml", "logback-test.xml"}) {
      assertThat(Collections.list(AgentLogging.class.getClassLoader().getResources(name)))
          .extracting(URL::toString).noneMatch(u -> u.startsWith(agentClasses) || u.contains("cowherd-node-agent"));
    }
  }

  @Test
  void logbackFindsItAsAService() {
    assertThat(ServiceLoader.load(Configurator.class).stream().<Class<?>>map(p -> p.type()).toList())
        .contains(AgentLogging.class);
  }
}
