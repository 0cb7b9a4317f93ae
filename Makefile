# Entry points for people and CI. Everything installs itself (hack/), cached outside the clone.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
NODE_BIN := $(shell bash hack/node.sh)
export PATH := $(NODE_BIN):$(PATH)

.PHONY: setup build demo demo-cli image image-pgbackrest test check bench-engine bench-lint bench-online bench-operator bench-pool bench-docserver bench-vector bench-partitions bench-snapshot clean

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: node_modules/.installed
	bash hack/setup-postgres.sh

build: node_modules/.installed
	npm run -s build

## demo: the operator's main job: a local control plane, the chart's RBAC, the operator as a local
## process under it, and a DatabaseMigration of the doc-server schema watched to Succeeded
demo: setup build
	bash hack/demo.sh

## demo-cli: the same migrations through the CLI on a local database: plan, apply, status, history
demo-cli: setup build
	bash hack/demo-cli.sh

## image: the product image from the Dockerfile, with buildah (no daemon; base from hack/base-image.sh)
image: setup
	bash hack/image.sh

## image-pgbackrest: the image for the pgbackrest snapshot method (Dockerfile.pgbackrest: the product
## image plus pgBackRest and the PostgreSQL 17 server with pgvector), tagged <image>-pgbackrest
image-pgbackrest: setup
	bash hack/image-pgbackrest.sh

## test: type check, lint, format check, then unit, integration (real PostgreSQL + pgvector) and
## end-to-end tests (real etcd + kube-apiserver, built once by hack/control-plane.sh and cached;
## the Helm chart's tests use helm, built once by hack/helm.sh; the Argo CD health checks run
## in Lua 5.1 from Debian, fetched once by hack/lua.sh; the shell scripts pass ShellCheck from Debian,
## hack/shellcheck.sh; promtool, built once by hack/promtool.sh, checks the metrics and alert rules;
## the image and its pgbackrest variant are built by hack/image.sh and hack/image-pgbackrest.sh
## with buildah and tested in test/image; the linter is compared
## with Squawk's native binary, fetched once by hack/squawk.sh; snapshot storage in S3 is tested
## against SeaweedFS, built once by hack/seaweedfs.sh; the pgbackrest snapshot method against
## Debian's pgBackRest, fetched once by hack/pgbackrest.sh)
test: setup build
	npm run -s typecheck
	npm run -s lint
	npm run -s format:check
	image="$$(bash hack/image.sh)" && \
	  DBM_K8S_BIN="$$(bash hack/control-plane.sh)" DBM_HELM_BIN="$$(bash hack/helm.sh)" DBM_LUA="$$(bash hack/lua.sh)" \
	  DBM_SHELLCHECK="$$(bash hack/shellcheck.sh)" DBM_PROMTOOL_BIN="$$(bash hack/promtool.sh)" \
	  DBM_SQUAWK="$$(bash hack/squawk.sh)" DBM_WEED_BIN="$$(bash hack/seaweedfs.sh)" \
	  DBM_PGBACKREST="$$(bash hack/pgbackrest.sh)" DBM_IMAGE="$$image" \
	  DBM_IMAGE_PGBACKREST="$$(DBM_IMAGE="$$image" bash hack/image-pgbackrest.sh)" npm run -s test

## bench-engine: dbmigrate's apply, start-up and status beside dbmate (Go, built once by
## hack/dbmate.sh), node-pg-migrate and raw psql (a few minutes)
bench-engine: setup build
	node dist/bench/engine/run.js

## bench-pool: the doc-server read paths through three pool shapes at 1/8/32/64 clients (~1 min)
bench-pool: setup build
	node dist/bench/pool/run.js

## bench-docserver: read paths before/after the migrations on 100k synthetic documents (~5 min once
## the dataset is cached; the first run loads it, ~2 min per 100k rows)
bench-docserver: setup build
	node dist/bench/docserver/run.js

## bench-vector: 3072-d index options (halfvec, binary quantisation, reduced dims) on 100k rows (~6 min)
bench-vector: setup build
	node dist/bench/vector/run.js --reduced 512,256

## bench-partitions: read paths unpartitioned vs 4/12/24 created_at partitions on 100k rows (~8 min)
bench-partitions: setup build
	node dist/bench/partitions/run.js

## bench-operator: one operator, 50 databases with 5 migrations each through the whole safe
## path on a local control plane (hack/control-plane.sh): time to all Succeeded, its memory (~5 min)
bench-operator: setup build
	DBM_K8S_BIN="$$(bash hack/control-plane.sh)" node dist/bench/operator/many-databases.js

## bench-snapshot: pg_dump -Fc, pg_dump -Fd -j 2 and pgBackRest (full, incremental, restore, delta
## restore) on a ~10 GB doc-server database in a private archiving cluster (hack/pgbackrest.sh);
## about 2 h and ~45 GB of free disk. Smaller: node dist/bench/snapshot/size.js --rows 20000
bench-snapshot: setup build
	DBM_PGBACKREST="$$(bash hack/pgbackrest.sh)" node dist/bench/snapshot/size.js

## bench-lint: linting migrations/ as users start it, beside Squawk (~10 s)
bench-lint: setup build
	node dist/bench/lint/run.js

## bench-online: naive vs online DDL, and catalog-only changes as written, under a rate-limited
## writer on 1M rows (~20 min). Some only: node dist/bench/online/run.js --scenarios a,b
## (index,fk,default,type; const-default,varchar,not-null,pk-using-index,pk-swap), --paths naive,
## --repeat 0 (dry-runs alone); a docs/benchmarks.md section is rewritten only when all of its
## scenarios ran
bench-online: setup build
	node dist/bench/online/run.js

clean:
	rm -rf dist node_modules
