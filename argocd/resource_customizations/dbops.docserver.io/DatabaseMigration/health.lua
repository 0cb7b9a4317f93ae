-- Argo CD health of a DatabaseMigration (Lua 5.1, as Argo CD runs it). Healthy once applied
-- and verified, Suspended while it waits for a person's approval, Progressing while it runs or
-- waits for a maintenance window, Degraded when it failed.
local hs = { status = "Progressing", message = "Waiting for the operator to pick it up" }
if obj.status == nil or obj.status.phase == nil then
  return hs
end
local st = obj.status
-- A spec the operator has not observed yet: the phase still describes the previous one.
if obj.metadata ~= nil and obj.metadata.generation ~= nil and st.observedGeneration ~= nil
    and st.observedGeneration < obj.metadata.generation then
  hs.message = "Waiting for the operator to observe generation " .. obj.metadata.generation
  return hs
end
local ready = nil
if st.conditions ~= nil then
  for _, c in ipairs(st.conditions) do
    if c.type == "Ready" then ready = c end
  end
end
local function say(default)
  if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
    return ready.message
  end
  return default
end
local phase = st.phase
if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = say("All migrations applied and verified")
elseif phase == "Failed" then
  hs.status = "Degraded"
  if st.lastError ~= nil and st.lastError ~= "" then
    hs.message = st.lastError
  else
    hs.message = say("The migration failed")
  end
elseif phase == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = say("Waiting for approval: annotate it with dbops.docserver.io/approved-generation")
elseif phase == "AwaitingWindow" then
  hs.message = say("Waiting for a maintenance window")
else
  hs.message = say(phase)
end
return hs
