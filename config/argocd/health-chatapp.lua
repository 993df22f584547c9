-- Argo CD health check for chat.roomsync.io/ChatApp.
-- Install as resource.customizations.health.chat.roomsync.io_ChatApp in
-- argocd-cm (config/argocd/kustomization.yaml does it).
local hs = {}
if obj.status == nil or obj.metadata.generation == nil or obj.status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for roomsync to look at the ChatApp"
  return hs
end
local ready, stalled
for _, c in ipairs(obj.status.conditions or {}) do
  if c.type == "Ready" then
    ready = c
  elseif c.type == "Stalled" then
    stalled = c
  end
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for roomsync"
if ready ~= nil and ready.message ~= nil then
  hs.message = ready.message
end
return hs
