{{/* Chart name, truncated to 63 characters (a DNS label). */}}
{{- define "seckill.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name prefix: the release name, or <release>-<chart> when the release name lacks the chart's. */}}
{{- define "seckill.fullname" -}}
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

{{- define "seckill.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every resource carries. */}}
{{- define "seckill.commonLabels" -}}
helm.sh/chart: {{ include "seckill.chart" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: seckill
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of a resource of no particular component. */}}
{{- define "seckill.labels" -}}
{{ include "seckill.commonLabels" . }}
app.kubernetes.io/name: {{ include "seckill.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one component: include "seckill.selectorLabels" (list . "operator"). */}}
{{- define "seckill.selectorLabels" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ include "seckill.name" $ctx }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "seckill.componentLabels" -}}
{{ include "seckill.commonLabels" (index . 0) }}
{{ include "seckill.selectorLabels" . }}
{{- end }}

{{- define "seckill.operator.fullname" -}}
{{- printf "%s-operator" (include "seckill.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "seckill.api.fullname" -}}
{{- printf "%s-api" (include "seckill.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Secret with KAFKA_BROKERS, REDIS_URL and MYSQL_URL. */}}
{{- define "seckill.connectionSecret" -}}
{{- if .Values.connection.existingSecret }}
{{- .Values.connection.existingSecret }}
{{- else }}
{{- printf "%s-connection" (include "seckill.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "seckill.leaseName" -}}
{{- default (include "seckill.operator.fullname" .) .Values.operator.leaderElection.leaseName }}
{{- end }}

{{/* An image reference: include "seckill.image" (list . .Values.api.image). */}}
{{- define "seckill.image" -}}
{{- $ctx := index . 0 -}}
{{- $img := index . 1 -}}
{{- $repo := $img.repository -}}
{{- if $ctx.Values.imageRegistry }}{{ $repo = printf "%s/%s" (trimSuffix "/" $ctx.Values.imageRegistry) $repo }}{{ end -}}
{{- printf "%s:%s" $repo (default $ctx.Chart.AppVersion $img.tag) }}
{{- end }}

{{/* An environment variable from the connection Secret: include "seckill.secretEnv" (list . "REDIS_URL"). */}}
{{- define "seckill.secretEnv" -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "seckill.connectionSecret" (index . 0) }}
      key: {{ index . 1 }}
{{- end }}

{{/* Soft anti-affinity spreading a component's pods over nodes. */}}
{{- define "seckill.spread" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "seckill.selectorLabels" . | nindent 12 }}
{{- end }}

{{/* Cross-field checks JSON Schema cannot express; each fails the render with a message naming the keys. */}}
{{- define "seckill.validate" -}}
{{- $v := .Values -}}
{{- if and (gt (int $v.operator.replicaCount) 1) (not $v.operator.leaderElection.enabled) }}
{{- fail "operator.leaderElection.enabled must be true when operator.replicaCount > 1 (two operators reconciling at once would fight)" }}
{{- end }}
{{- $le := $v.operator.leaderElection -}}
{{- if ge (int $le.renewDeadlineSeconds) (int $le.leaseDurationSeconds) }}
{{- fail "operator.leaderElection.renewDeadlineSeconds must be less than leaseDurationSeconds" }}
{{- end }}
{{- if ge (int $le.retryPeriodSeconds) (int $le.renewDeadlineSeconds) }}
{{- fail "operator.leaderElection.retryPeriodSeconds must be less than renewDeadlineSeconds" }}
{{- end }}
{{- if lt (int $v.api.batch.buffer) (int $v.api.batch.size) }}
{{- fail (printf "api.batch.buffer (%d) must be >= api.batch.size (%d)" (int $v.api.batch.buffer) (int $v.api.batch.size)) }}
{{- end }}
{{- if and $v.api.autoscaling.enabled (gt (int $v.api.autoscaling.minReplicas) (int $v.api.autoscaling.maxReplicas)) }}
{{- fail (printf "api.autoscaling.minReplicas (%d) must be <= api.autoscaling.maxReplicas (%d)" (int $v.api.autoscaling.minReplicas) (int $v.api.autoscaling.maxReplicas)) }}
{{- end }}
{{- if ge (int $v.api.lameDuckMs) (int $v.api.shutdownGraceMs) }}
{{- fail (printf "api.lameDuckMs (%d) must be below api.shutdownGraceMs (%d): the lame duck is the drain's first part" (int $v.api.lameDuckMs) (int $v.api.shutdownGraceMs)) }}
{{- end }}
{{- $apiDrain := add (int $v.api.preStopSleepSeconds) (div (int $v.api.shutdownGraceMs) 1000) }}
{{- if le (int $v.api.terminationGracePeriodSeconds) (int $apiDrain) }}
{{- fail (printf "api.terminationGracePeriodSeconds (%d) must exceed api.preStopSleepSeconds + api.shutdownGraceMs/1000 (%d), or SIGKILL cuts the drain short" (int $v.api.terminationGracePeriodSeconds) (int $apiDrain)) }}
{{- end }}
{{- if le (int $v.operator.terminationGracePeriodSeconds) (div (int $v.operator.shutdownGraceMs) 1000 | int) }}
{{- fail "operator.terminationGracePeriodSeconds must exceed operator.shutdownGraceMs/1000" }}
{{- end }}
{{- if gt (int $v.api.http.headersTimeoutMs) (int $v.api.http.requestTimeoutMs) }}
{{- fail (printf "api.http.headersTimeoutMs (%d) must be <= api.http.requestTimeoutMs (%d)" (int $v.api.http.headersTimeoutMs) (int $v.api.http.requestTimeoutMs)) }}
{{- end }}
{{- include "seckill.validateAuth" . }}
{{- end }}

{{/* The buyer-token settings: in jwt mode the front door needs a key, and the chart a Secret (or a JWKS URL). */}}
{{- define "seckill.validateAuth" -}}
{{- $auth := .Values.auth -}}
{{- if eq $auth.mode "jwt" }}
{{- if and (not $auth.existingSecret) (not $auth.jwksUrl) }}
{{- fail (printf "auth.existingSecret is required when auth.mode=jwt: name a Secret in namespace %s with the key AUTH_JWT_SECRET (the HS256 key, at least 32 bytes) and/or jwks.json (with auth.jwksFromSecret=true), or set auth.jwksUrl. auth.mode=none (no buyer verification) is for local runs only" .Release.Namespace) }}
{{- end }}
{{- if and $auth.jwksFromSecret (not $auth.existingSecret) }}
{{- fail "auth.jwksFromSecret=true needs auth.existingSecret: the Secret whose jwks.json key is mounted" }}
{{- end }}
{{- if and $auth.jwksFromSecret $auth.jwksUrl }}
{{- fail "set auth.jwksFromSecret or auth.jwksUrl, not both (the front door reads one JWKS: AUTH_JWKS_FILE or AUTH_JWKS_URL)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Where the Secret's jwks.json is mounted (auth.jwksFromSecret). */}}
{{- define "seckill.jwksDir" -}}
/etc/seckill/auth
{{- end }}
