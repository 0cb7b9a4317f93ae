-- The document server's schema as it runs in production today (before dbmigrate).
-- A database that already has it is adopted with `dbmigrate baseline --version 0001`
-- (or `dbmigrate baseline --from sqlx`), never recreated.
-- migrate:up
create extension if not exists vector;

create table document_sources (
  id bigint generated always as identity primary key,
  source_name text not null unique,
  description text,
  created_at timestamptz not null default now()
);

create table documents (
  id bigint generated always as identity primary key,
  doc_type text not null,
  source_name text not null,
  title text,
  content text not null,
  metadata jsonb not null default '{}'::jsonb,
  embedding vector(3072),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index documents_doc_type_idx on documents (doc_type);
create index documents_source_name_idx on documents (source_name);

-- migrate:down
drop table documents;
drop table document_sources;
