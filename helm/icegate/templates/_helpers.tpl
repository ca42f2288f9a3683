{{/* Chart name, cut to the 63 characters a label value may hold. */}}
{{- define "icegate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, plus the chart name unless it already has it. */}}
{{- define "icegate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "icegate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "icegate.labels" -}}
helm.sh/chart: {{ include "icegate.chart" . }}
{{ include "icegate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the pods; never change them on upgrade. */}}
{{- define "icegate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "icegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Service account the pods run as. */}}
{{- define "icegate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "icegate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference; the tag defaults to the chart's appVersion. */}}
{{- define "icegate.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The operator's Secret with TURN_SECRETS and ADMIN_TOKEN_SECRET; the chart never creates one. */}}
{{- define "icegate.secretName" -}}
{{- required "secrets.existingSecret: name an existing Secret with the keys TURN_SECRETS and ADMIN_TOKEN_SECRET" .Values.secrets.existingSecret }}
{{- end }}

{{/*
DRAIN_TIMEOUT_SECONDS: what is left of the grace period after the preStop pause (which the
kubelet counts inside it) and the margin icegate needs after its deadline to close allocations
and write usage. So icegate's own deadline always comes before the kubelet's SIGKILL.
*/}}
{{- define "icegate.drainTimeoutSeconds" -}}
{{- sub (sub (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds)) (int .Values.drainMarginSeconds) }}
{{- end }}

{{/*
Checks that values.schema.json cannot express (it cannot compare two values). Rendered by
configmap.yaml, which every install has.
*/}}
{{- define "icegate.validate" -}}
{{- if lt (int (include "icegate.drainTimeoutSeconds" .)) 1 }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds (%d) + drainMarginSeconds (%d): the preStop pause counts inside the grace period, and icegate needs the margin after its drain deadline to close allocations and write usage before SIGKILL" (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds) (int .Values.drainMarginSeconds)) }}
{{- end }}
{{- if gt (int .Values.turn.minPort) (int .Values.turn.maxPort) }}
{{- fail "turn.minPort must not be above turn.maxPort" }}
{{- end }}
{{- if eq .Values.mode "LoadBalancer" }}
{{- if not .Values.turn.externalIP }}
{{- fail "LoadBalancer mode: set turn.externalIP to the load balancer's address (TURN_EXTERNAL_IP)" }}
{{- end }}
{{- if or (ne .Values.kind "Deployment") (ne (int .Values.replicaCount) 1) .Values.hpa.enabled }}
{{- fail "LoadBalancer mode runs one Deployment replica: a relayed address must reach the pod that owns it" }}
{{- end }}
{{- $ports := add1 (sub (int .Values.turn.maxPort) (int .Values.turn.minPort)) }}
{{- if gt (int $ports) (int .Values.service.maxRelayPorts) }}
{{- fail (printf "LoadBalancer mode publishes every relay port on the Service: turn.minPort..turn.maxPort holds %d ports, more than service.maxRelayPorts (%d)" (int $ports) (int .Values.service.maxRelayPorts)) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Affinity: the operator's, or in hostNetwork Deployments one pod per node (ports are the node's). */}}
{{- define "icegate.affinity" -}}
{{- if .Values.affinity }}
{{- toYaml .Values.affinity }}
{{- else if and (eq .Values.mode "hostNetwork") (eq .Values.kind "Deployment") }}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "icegate.selectorLabels" . | nindent 10 }}
{{- end }}
{{- end }}
