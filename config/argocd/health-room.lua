-- Argo CD health check for chat.roomsync.io/Room.
-- Install as resource.customizations.health.chat.roomsync.io_Room in
-- argocd-cm (config/argocd/kustomization.yaml does it).
local hs = {}
if obj.status == nil or obj.metadata.generation == nil or obj.status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for roomsync to look at the Room"
  return hs
end
local ready, stalled, recording
for _, c in ipairs(obj.status.conditions or {}) do
  if c.type == "Ready" then
    ready = c
  elseif c.type == "Stalled" then
    stalled = c
  elseif c.type == "Recording" then
    recording = c
  end
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
  return hs
end
if recording ~= nil and recording.status == "False" and recording.reason == "RecordingFailed" then
  hs.status = "Degraded"
  hs.message = recording.message
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
-- A declared Room waits on Tencent, not on roomsync: its first callback may
-- be far away, and Argo CD must not show it progressing forever.
if ready ~= nil and ready.reason == "AwaitingRoomInfo" then
  hs.status = "Suspended"
  hs.message = ready.message
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for roomsync"
if ready ~= nil and ready.message ~= nil then
  hs.message = ready.message
end
return hs
