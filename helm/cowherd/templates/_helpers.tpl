{{/* Chart name, at most 63 characters. */}}
{{- define "cowherd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name prefix of every object: the release name, plus the chart name unless the release name contains it. */}}
{{- define "cowherd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Operator Deployment, ServiceAccount, ClusterRole, Role and Lease name. */}}
{{- define "cowherd.operatorName" -}}
{{- printf "%s-operator" (include "cowherd.fullname" .) }}
{{- end }}

{{/* Node agent DaemonSet, ServiceAccount and ClusterRole name. */}}
{{- define "cowherd.agentName" -}}
{{- printf "%s-node-agent" (include "cowherd.fullname" .) }}
{{- end }}

{{- define "cowherd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: cowherd
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of the operator pods. */}}
{{- define "cowherd.operatorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "cowherd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Selector labels of the agent pods (immutable once the DaemonSet exists). */}}
{{- define "cowherd.agentSelectorLabels" -}}
app.kubernetes.io/name: cowherd-node-agent
app.kubernetes.io/instance: {{ include "cowherd.agentName" . }}
app.kubernetes.io/component: node-agent
{{- end }}

{{/* Image reference: call with (dict "root" $ "image" .Values.operator.image). */}}
{{- define "cowherd.image" -}}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- if .root.Values.image.registry }}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) .image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{/*
  KUBERNETES_SERVICE_HOST/PORT for clusters without kube-proxy, where the "kubernetes" Service's ClusterIP is
  unreachable: set from apiServer.host/port. Include only when apiServer.host is set; call with the root context.
*/}}
{{- define "cowherd.apiServerEnv" -}}
- name: KUBERNETES_SERVICE_HOST
  value: {{ .Values.apiServer.host | quote }}
- name: KUBERNETES_SERVICE_PORT
  value: {{ .Values.apiServer.port | default 443 | quote }}
{{- end }}
