-- Argo CD health of a BackupSnapshot (Lua 5.1, as Argo CD runs it). Healthy once dumped (and
-- verified, unless spec.verify is false) with its files present, Degraded when it failed or its
-- files are gone, Progressing otherwise.
local hs = { status = "Progressing", message = "Waiting for the operator to pick it up" }
if obj.status == nil or obj.status.phase == nil then
  return hs
end
local st = obj.status
local phase = st.phase
if phase == "Failed" then
  hs.status = "Degraded"
  hs.message = st.lastError or "The snapshot failed"
elseif phase == "Completed" then
  if st.filesPresent == false then
    hs.status = "Degraded"
    hs.message = "The snapshot's files are gone from storage: it cannot be restored"
  elseif st.verified ~= true and (obj.spec == nil or obj.spec.verify ~= false) then
    hs.message = "Dumped, not verified yet"
  else
    hs.status = "Healthy"
    local what = "Snapshot " .. (st.snapshotId or "")
    if st.size ~= nil then what = what .. " (" .. st.size .. ")" end
    if st.verified == true then
      hs.message = what .. " verified by a restore"
    else
      hs.message = what .. " dumped; verification is off"
    end
  end
elseif phase == "Verifying" then
  hs.message = "Verifying: restoring into a scratch database"
elseif phase == "Running" then
  hs.message = "Dumping"
else
  hs.message = phase
end
return hs
