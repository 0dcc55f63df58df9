// Host storage, deployment packages and the app's tables, reachable only with Entra ID.
param name string
param location string
param tags object
param deploymentContainerName string

// The app's tables (docs/architecture.md, "Tables"); the app also ensures them at start-up. Login-throttle, session and passkey
// rows live in Users, in the account's partition; PasskeyChallenges holds ceremony challenges for 5 minutes and
// PasskeyIds one claim per passkey credential id across all accounts.
var tableNames = [
  'Users'
  'Items'
  'ClientLimits'
  'Outbox'
  'PasskeyChallenges'
  'PasskeyIds'
]

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }

  resource tableService 'tableServices' = {
    name: 'default'

    resource tables 'tables' = [
      for tableName in tableNames: {
        name: tableName
      }
    ]
  }
}

output name string = storage.name
