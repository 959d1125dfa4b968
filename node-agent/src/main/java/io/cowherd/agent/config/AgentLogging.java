package io.cowherd.agent.config;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.DefaultJoranConfigurator;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.net.URL;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The node agent's Logback set-up, in code: one console appender on standard output, text or JSON,
 * and the level of the {@code io.cowherd} loggers; every other logger at INFO.
 *
 * <ul>
 *   <li>{@code COWHERD_LOG_FORMAT}: {@code text} (default; {@value #PATTERN}) or {@code json} (one
 *       object per line: Logback's {@link JsonEncoder} with timestamp in epoch milliseconds, level,
 *       thread, logger, MDC, formatted message and throwable);
 *   <li>{@code COWHERD_LOG_LEVEL}: level of {@code io.cowherd} (default INFO).
 * </ul>
 *
 * <p>Logback finds it as a {@code ch.qos.logback.classic.spi.Configurator} service (file in {@code
 * META-INF/services}) before its own XML configurator (Logback 1.5 {@code
 * ContextInitializer.autoConfig}). It replaces the {@code logback.xml} the agent had: the XML
 * configurator loads Joran and the JDK's XML parser, ≈ 410 classes whose metadata stayed in the
 * agent's memory for its whole life (issue 11, agent RSS; docs/performance.md).
 *
 * <p>It steps aside whenever Logback's own search finds a configuration file ({@code
 * DefaultJoranConfigurator.findURLOfDefaultConfigurationFile}: the system property {@code
 * logback.configurationFile} as a URL, class-path resource or file, then {@code logback-test.xml},
 * then {@code logback.xml} on the class path): a user's file set through {@code JAVA_TOOL_OPTIONS},
 * or the configuration of a test JVM that has the agent on its class path. A {@code
 * logback.configurationFile} that names nothing gets a warning (printed with Logback's status at
 * start) and this configuration, not Logback's bare DEBUG default.
 */
public final class AgentLogging extends ContextAwareBase implements Configurator {
  /** The text format's pattern. */
  public static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n";
  /** Name of the one appender. */
  public static final String APPENDER = "STDOUT";

  private final UnaryOperator<String> env;
  private final UnaryOperator<String> properties;
  private final Function<LoggerContext, URL> configurationFile;

  /** The configurator Logback instantiates: the process environment, system properties, Logback's search. */
  public AgentLogging() {
    this(System::getenv, System::getProperty, AgentLogging::logbacksSearch);
  }

  /**
   * For tests: {@code env} and {@code properties} look up a name, null when unset; {@code
   * configurationFile} is Logback's search for a configuration file, null when it finds none.
   */
  AgentLogging(UnaryOperator<String> env, UnaryOperator<String> properties,
      Function<LoggerContext, URL> configurationFile) {
    this.env = env;
    this.properties = properties;
    this.configurationFile = configurationFile;
  }

  private static URL logbacksSearch(LoggerContext context) {
    DefaultJoranConfigurator search = new DefaultJoranConfigurator();
    search.setContext(context);
    return search.findURLOfDefaultConfigurationFile(false);
  }

  /**
   * Configures {@code context}, or leaves it to Logback's XML configurator when its search finds a
   * configuration file.
   *
   * @return {@code DO_NOT_INVOKE_NEXT_IF_ANY} when configured here; {@code NEUTRAL} otherwise
   */
  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (configurationFile.apply(context) != null) {
      return ExecutionStatus.NEUTRAL;
    }
    String named = properties.apply("logback.configurationFile");
    if (named != null) {
      addWarn("logback.configurationFile=" + named + " names no file or resource; using the agent's own configuration");
    }
    ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
    appender.setContext(context);
    appender.setName(APPENDER);
    appender.setEncoder(encoder(context));
    appender.start();

    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(appender);
    context.getLogger("io.cowherd").setLevel(level());
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  private Encoder<ILoggingEvent> encoder(LoggerContext context) {
    String format = valueOr("COWHERD_LOG_FORMAT", "text").toLowerCase(Locale.ROOT);
    if (format.equals("json")) {
      JsonEncoder json = new JsonEncoder();
      json.setContext(context);
      json.setWithSequenceNumber(false);
      json.setWithNanoseconds(false);
      json.setWithContext(false);
      json.setWithArguments(false);
      json.setWithMessage(false);
      json.setWithFormattedMessage(true);
      json.start();
      return json;
    }
    if (!format.equals("text")) {
      addWarn("COWHERD_LOG_FORMAT=" + format + " is neither text nor json; logging as text");
    }
    PatternLayoutEncoder text = new PatternLayoutEncoder();
    text.setContext(context);
    text.setPattern(PATTERN);
    text.start();
    return text;
  }

  private Level level() {
    String name = valueOr("COWHERD_LOG_LEVEL", "INFO");
    Level level = Level.toLevel(name, null);
    if (level == null) {
      addWarn("COWHERD_LOG_LEVEL=" + name + " is not a level (TRACE, DEBUG, INFO, WARN, ERROR); using INFO");
      return Level.INFO;
    }
    return level;
  }

  private String valueOr(String name, String fallback) {
    String v = env.apply(name);
    return v == null || v.isBlank() ? fallback : v.strip();
  }
}
