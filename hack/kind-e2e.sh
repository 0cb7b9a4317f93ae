#!/usr/bin/env bash
# The operator in a real cluster, for machines with Docker: a kind cluster, the image built from
# the Dockerfile and loaded into it, the Helm chart installed, a pgvector PostgreSQL, and the
# doc-server's migrations applied through a DatabaseMigration until it reports Succeeded.
#
# Needs docker, kind, kubectl and helm on PATH. KIND_CLUSTER names the cluster (default
# dbmigrate-e2e); KEEP_CLUSTER=1 leaves it running afterwards; PGVECTOR_IMAGE picks the server.
# This repository's own CI has no Docker: there `make demo` runs the same path on a local
# control plane and test/image/ runs the image (docs/operator.md, "Trying it").
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER="${KIND_CLUSTER:-dbmigrate-e2e}"
PGVECTOR_IMAGE="${PGVECTOR_IMAGE:-pgvector/pgvector:pg17}"
OPERATOR_NS=dbmigrate-system
APP_NS=docs
TIMEOUT="${TIMEOUT:-10m}"

say() { printf '\n== %s\n' "$*"; }
die() { printf 'kind-e2e: %s\n' "$*" >&2; exit 1; }
for tool in docker kind kubectl helm node; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH (this script needs docker, kind, kubectl, helm and node)"
done

# shellcheck disable=SC2016 # JavaScript, not shell
IMAGE=$(node -e 'const p = require("./package.json"); console.log(`${p.dbmigrate.image}:${p.version}`)')

cleanup() {
  if [ -z "${KEEP_CLUSTER:-}" ]; then
    say "deleting the kind cluster $CLUSTER (KEEP_CLUSTER=1 keeps it)"
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

say "building $IMAGE"
docker build -t "$IMAGE" .

if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  say "creating the kind cluster $CLUSTER"
  kind create cluster --name "$CLUSTER" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null
say "loading $IMAGE into the cluster"
kind load docker-image "$IMAGE" --name "$CLUSTER"

say "installing the chart (CRDs, RBAC, two replicas) into $OPERATOR_NS"
# kind's local-path storage offers ReadWriteOnce only; one node, so both replicas can mount it.
helm upgrade --install dbmigrate charts/db-migration-operator \
  --namespace "$OPERATOR_NS" --create-namespace \
  --set 'snapshotStorage.persistence.accessModes={ReadWriteOnce}' \
  --set snapshotStorage.persistence.size=1Gi \
  --wait --timeout 5m

say "starting PostgreSQL with pgvector ($PGVECTOR_IMAGE) in $APP_NS"
kubectl create namespace "$APP_NS" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$APP_NS" apply -f - <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: postgres}
spec:
  selector: {matchLabels: {app: postgres}}
  template:
    metadata: {labels: {app: postgres}}
    spec:
      containers:
        - name: postgres
          image: $PGVECTOR_IMAGE
          env:
            - {name: POSTGRES_PASSWORD, value: kind-e2e}
            - {name: POSTGRES_DB, value: docs}
          ports: [{containerPort: 5432}]
          readinessProbe:
            exec: {command: [pg_isready, -U, postgres, -d, docs]}
            periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata: {name: postgres}
spec:
  selector: {app: postgres}
  ports: [{port: 5432}]
YAML
kubectl -n "$APP_NS" rollout status deployment/postgres --timeout 5m

say "creating the Secret, the migrations ConfigMap and the DatabaseMigration"
kubectl -n "$APP_NS" create secret generic docs-db \
  --from-literal=DATABASE_URL=postgres://postgres:kind-e2e@postgres.docs.svc:5432/docs \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$APP_NS" create configmap docs-migrations --from-file=migrations/ \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$APP_NS" apply -f - <<'YAML'
apiVersion: dbops.docserver.io/v1alpha1
kind: DatabaseMigration
metadata: {name: docs-schema}
spec:
  database: {secretRef: {name: docs-db}}
  migrations: {configMapRef: {name: docs-migrations}}
  snapshot:
    storage: {path: /var/lib/dbmigrate/snapshots}
  # One server in this cluster: staging copies go into temporary databases on it. In
  # production, point staging.scratch.secretRef at a separate server.
  staging: {scratch: {allowProductionServer: true}}
YAML

say "waiting for Succeeded (kubectl -n $APP_NS get dbm,dbsnap)"
deadline=$((SECONDS + ${TIMEOUT%m} * 60))
phase=""
while [ "$SECONDS" -lt "$deadline" ]; do
  phase=$(kubectl -n "$APP_NS" get dbm docs-schema -o jsonpath='{.status.phase}')
  kubectl -n "$APP_NS" get dbm,dbsnap
  case "$phase" in Succeeded | Failed) break ;; esac
  if [ "$phase" = AwaitingWindow ] && [ -z "${approved:-}" ]; then
    # 0009 holds locks on documents past the 20 ms threshold (docs/partitioning.md): approve
    # this generation, as a person would after reading the dry-run.
    generation=$(kubectl -n "$APP_NS" get dbm docs-schema -o jsonpath='{.metadata.generation}')
    kubectl -n "$APP_NS" annotate dbm docs-schema \
      "dbops.docserver.io/approved-generation=$generation"
    approved=1
  fi
  sleep 5
done
kubectl -n "$APP_NS" get dbm docs-schema \
  -o jsonpath='{range .status.history[*]}{.at}{"  "}{.phase}{"  "}{.message}{"\n"}{end}'
[ "$phase" = Succeeded ] || {
  kubectl -n "$OPERATOR_NS" logs deployment/dbmigrate-db-migration-operator --tail 50 || true
  die "docs/docs-schema ended ${phase:-without a phase}"
}
say "docs/docs-schema Succeeded"
