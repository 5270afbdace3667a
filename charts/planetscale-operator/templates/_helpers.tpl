{{/* Chart name. */}}
{{- define "pso.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already contains the chart name. */}}
{{- define "pso.fullname" -}}
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

{{/* Selector labels (stable across upgrades). */}}
{{- define "pso.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pso.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "pso.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pso.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: planetscale-operator
{{- end }}

{{- define "pso.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pso.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pso.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Name of the default credentials Secret (existing or created). */}}
{{- define "pso.credentialsSecretName" -}}
{{- $c := .Values.defaultCredentials }}
{{- if $c.create }}
{{- default (printf "%s-credentials" (include "pso.fullname" .)) $c.secretName }}
{{- else }}
{{- default "planetscale-credentials" $c.existingSecret }}
{{- end }}
{{- end }}

{{/* Value checks that the schema cannot express; fail with a message that says what to do. */}}
{{- define "pso.validate" -}}
{{- $c := .Values.defaultCredentials }}
{{- if and $c.create $c.existingSecret }}
{{- fail "defaultCredentials: set either existingSecret or create, not both" }}
{{- end }}
{{- if $c.create }}
{{- $token := and $c.serviceTokenId $c.serviceToken }}
{{- $oauth := and $c.oauthClientId $c.oauthClientSecret $c.accessToken $c.refreshToken }}
{{- if not (or $token $oauth) }}
{{- fail "defaultCredentials.create needs serviceTokenId and serviceToken, or oauthClientId, oauthClientSecret, accessToken and refreshToken" }}
{{- end }}
{{- if and $token $oauth }}
{{- fail "defaultCredentials.create: give a service token or OAuth tokens, not both" }}
{{- end }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled=true: only one replica may reconcile" }}
{{- end }}
{{- end }}

{{/* The rules the operator needs in every namespace it watches (ClusterRole or Role). */}}
{{- define "pso.namespacedRules" -}}
- apiGroups: ["planetscale.operator.dev"]
  resources: ["planetscalebranches", "planetscalepasswords", "deployrequests", "planetscaledatabases", "planetscalebackups"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["planetscale.operator.dev"]
  resources: ["planetscalebranches/status", "planetscalepasswords/status", "deployrequests/status", "planetscaledatabases/status", "planetscalebackups/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets"]
  # create: a server-side apply that creates a Secret is authorized as create as well as patch
  # patch: password Secrets, OAuth token write-back, and the credentials-in-use finalizer
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets"]
  verbs: ["get", "patch"]
{{- end }}

{{/* Read access to the operator's own CRDs, for the start-up check. */}}
{{- define "pso.crdRule" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  resourceNames:
    - planetscalebranches.planetscale.operator.dev
    - planetscalepasswords.planetscale.operator.dev
    - deployrequests.planetscale.operator.dev
    - planetscaledatabases.planetscale.operator.dev
    - planetscalebackups.planetscale.operator.dev
    - planetscaleaccesspolicies.planetscale.operator.dev
  verbs: ["get"]
# The access policies (cluster-scoped) and the namespaces' labels their rules select on.
- apiGroups: ["planetscale.operator.dev"]
  resources: ["planetscaleaccesspolicies"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get"]
{{- end }}
