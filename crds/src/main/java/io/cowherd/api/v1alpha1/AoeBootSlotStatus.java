package io.cowherd.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;
import java.util.Objects;

/**
 * Last observed state of one slot on its node. Every field but {@link #getConditions() conditions}
 * is written only by the node agent of {@code spec.nodeName}; {@code conditions} only by the
 * operator (one writer, {@code io.cowherd.operator.liveness.SlotConditionWriter}), which says there
 * when that agent is silent ({@code AgentAlive}) or the Node is gone ({@code NodeAvailable}, see
 * {@link io.cowherd.api.SlotConditions}). {@link #equals} compares the agent's fields only.
 */
public class AoeBootSlotStatus {
  /** The slot generation this status describes. */
  private Long observedGeneration;

  /** Lifecycle phase. */
  private SlotPhase phase;

  /** AoE target served, e.g. e7.3. */
  private String target;

  /** COW backend in use (dm-snapshot or reflink). */
  private String backend;

  /** Loop device of the origin (dm-snapshot), e.g. /dev/loop3. */
  private String originLoop;

  /** Loop device of the COW store (dm-snapshot). */
  private String cowLoop;

  /** Device-mapper device name (dm-snapshot). */
  private String dmName;

  /** Host path of the slot's COW store (COW file or reflink clone). */
  private String cowStorePath;

  /** Path vblade exports (the dm device or the reflink clone). */
  private String exportPath;

  /** Process id of the running exporter (vblade) on the node, absent when not running. */
  private Long exporterPid;

  /** How many times the exporter was restarted after it exited. */
  private Integer restarts;

  /**
   * Exit code of the exporter's last exit when known. Agents start exporters outside their own process
   * tree (so they outlive the agent pod) and cannot learn it: absent with them; see {@code lastError}.
   */
  private Integer lastExitCode;

  /** Last line the exporter wrote to stderr before its last exit. */
  private String lastExporterError;

  /** COW store usage in 512-byte sectors. */
  private Long cowUsedSectors;

  /** COW store capacity in 512-byte sectors. */
  private Long cowTotalSectors;

  /**
   * {@code cowUsedSectors} as a whole percent of {@code cowTotalSectors} (rounded down, 0–100),
   * for {@code kubectl get}; absent while either is unknown.
   */
  private Integer cowUsedPercent;

  /**
   * Boot stage of the slot's bound client as this slot's node agent sees it on the wire ({@code
   * Queried}, {@code Reading}, {@code Writing}, {@code Silent}; the client's full record is its
   * {@code AoeBootClient.status.boot}); absent for a slot bound to no MAC or a client never
   * seen; an agent restart keeps the last stage until the client's next request.
   */
  private String clientStage;

  /** Size of the exported device in 512-byte sectors. */
  private Long sizeSectors;

  /** Human-readable explanation of the phase (errors, what is being waited for). */
  private String message;

  /**
   * Written only by the operator: AgentAlive=Unknown (reason AgentSilent) while the node agent
   * that writes the rest of this status is not heard from; NodeAvailable=False (reason NodeLost)
   * while the slot's Node object is gone, True (NodeFound) once it is back.
   */
  @JsonInclude(JsonInclude.Include.NON_EMPTY)
  private List<Condition> conditions;

  /**
   * The node's ingress guard on the slot's interface: "on: ..." while AoE mask-list,
   * reserve/release and config-set requests from the segment are dropped before the exporter,
   * "off: <why>" otherwise.
   */
  private String guard;

  /**
   * The origin the slot serves: its path, its identity when the COW store was made, and whether the
   * file changed since (then also its identity now).
   */
  private SlotOrigin origin;

  /** Outcome of the latest capture of this slot's disk into a new origin file ({@code spec.capture}). */
  private SlotCapture capture;

  public SlotCapture getCapture() {
    return capture;
  }

  public void setCapture(SlotCapture capture) {
    this.capture = capture;
  }

  public SlotOrigin getOrigin() {
    return origin;
  }

  public void setOrigin(SlotOrigin origin) {
    this.origin = origin;
  }

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public SlotPhase getPhase() {
    return phase;
  }

  public void setPhase(SlotPhase phase) {
    this.phase = phase;
  }

  public String getTarget() {
    return target;
  }

  public void setTarget(String target) {
    this.target = target;
  }

  public String getBackend() {
    return backend;
  }

  public void setBackend(String backend) {
    this.backend = backend;
  }

  public String getOriginLoop() {
    return originLoop;
  }

  public void setOriginLoop(String originLoop) {
    this.originLoop = originLoop;
  }

  public String getCowLoop() {
    return cowLoop;
  }

  public void setCowLoop(String cowLoop) {
    this.cowLoop = cowLoop;
  }

  public String getDmName() {
    return dmName;
  }

  public void setDmName(String dmName) {
    this.dmName = dmName;
  }

  public String getCowStorePath() {
    return cowStorePath;
  }

  public void setCowStorePath(String cowStorePath) {
    this.cowStorePath = cowStorePath;
  }

  public String getExportPath() {
    return exportPath;
  }

  public void setExportPath(String exportPath) {
    this.exportPath = exportPath;
  }

  public Long getExporterPid() {
    return exporterPid;
  }

  public void setExporterPid(Long exporterPid) {
    this.exporterPid = exporterPid;
  }

  public Integer getRestarts() {
    return restarts;
  }

  public void setRestarts(Integer restarts) {
    this.restarts = restarts;
  }

  public Integer getLastExitCode() {
    return lastExitCode;
  }

  public void setLastExitCode(Integer lastExitCode) {
    this.lastExitCode = lastExitCode;
  }

  public String getLastExporterError() {
    return lastExporterError;
  }

  public void setLastExporterError(String lastExporterError) {
    this.lastExporterError = lastExporterError;
  }

  public Long getCowUsedSectors() {
    return cowUsedSectors;
  }

  public void setCowUsedSectors(Long cowUsedSectors) {
    this.cowUsedSectors = cowUsedSectors;
  }

  public Long getCowTotalSectors() {
    return cowTotalSectors;
  }

  public void setCowTotalSectors(Long cowTotalSectors) {
    this.cowTotalSectors = cowTotalSectors;
  }

  public Long getSizeSectors() {
    return sizeSectors;
  }

  public void setSizeSectors(Long sizeSectors) {
    this.sizeSectors = sizeSectors;
  }

  public String getMessage() {
    return message;
  }

  public void setMessage(String message) {
    this.message = message;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

  public String getGuard() {
    return guard;
  }

  public void setGuard(String guard) {
    this.guard = guard;
  }

  public String getClientStage() {
    return clientStage;
  }

  public void setClientStage(String clientStage) {
    this.clientStage = clientStage;
  }

  public Integer getCowUsedPercent() {
    return cowUsedPercent;
  }

  public void setCowUsedPercent(Integer cowUsedPercent) {
    this.cowUsedPercent = cowUsedPercent;
  }

  /**
   * Sets both COW figures (512-byte sectors) and {@link #getCowUsedPercent()} from them: {@code
   * used * 100 / total} rounded down and capped at 100, or absent when {@code total} is 0.
   */
  public void setCowUsage(long usedSectors, long totalSectors) {
    this.cowUsedSectors = usedSectors;
    this.cowTotalSectors = totalSectors;
    // used * 100 cannot overflow below 2^63 / 100 sectors (about 46 EB).
    this.cowUsedPercent = totalSectors <= 0 ? null : (int) Math.clamp(usedSectors * 100 / totalSectors, 0L, 100L);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AoeBootSlotStatus s
        && Objects.equals(observedGeneration, s.observedGeneration)
        && phase == s.phase
        && Objects.equals(target, s.target)
        && Objects.equals(backend, s.backend)
        && Objects.equals(originLoop, s.originLoop)
        && Objects.equals(cowLoop, s.cowLoop)
        && Objects.equals(dmName, s.dmName)
        && Objects.equals(cowStorePath, s.cowStorePath)
        && Objects.equals(exportPath, s.exportPath)
        && Objects.equals(exporterPid, s.exporterPid)
        && Objects.equals(restarts, s.restarts)
        && Objects.equals(lastExitCode, s.lastExitCode)
        && Objects.equals(lastExporterError, s.lastExporterError)
        && Objects.equals(cowUsedSectors, s.cowUsedSectors)
        && Objects.equals(cowTotalSectors, s.cowTotalSectors)
        && Objects.equals(cowUsedPercent, s.cowUsedPercent)
        && Objects.equals(clientStage, s.clientStage)
        && Objects.equals(sizeSectors, s.sizeSectors)
        && Objects.equals(message, s.message)
        && Objects.equals(guard, s.guard)
        && Objects.equals(origin, s.origin)
        && Objects.equals(capture, s.capture);
  }

  @Override
  public int hashCode() {
    return Objects.hash(phase, target, exporterPid, restarts, message, cowUsedSectors);
  }
}
