{{- define "dbmo.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dbmo.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "dbmo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dbmo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dbmo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "dbmo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "dbmo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dbmo.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "dbmo.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.variant -}}
{{- $tag = printf "%s-%s" $tag .Values.image.variant -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{- define "dbmo.claimName" -}}
{{- default (printf "%s-snapshots" (include "dbmo.fullname" .)) .Values.snapshotStorage.persistence.existingClaim -}}
{{- end -}}

{{/* What the operator may do with its own resources, wherever it watches them. */}}
{{- define "dbmo.watchRules" -}}
- apiGroups: [dbops.docserver.io]
  resources: [databasemigrations]
  verbs: [get, list, watch]
- apiGroups: [dbops.docserver.io]
  resources: [backupsnapshots]
  # create: pre-migration snapshots; delete: retention; patch: the finalizer.
  verbs: [get, list, watch, create, delete, patch]
- apiGroups: [dbops.docserver.io]
  resources: [databasemigrations/status, backupsnapshots/status]
  verbs: [get, patch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
- apiGroups: [""]
  # Only the DATABASE_URL Secrets that resources name: read one by one, never listed.
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [create, get, patch]
{{- end -}}
