// Public entry point: Multipath TCP for Node.js.
//
// Values are re-exported with `export import`, which compiles to plain
// properties of `exports`. `export { x } from` would compile to getters,
// which leave the exports object in V8's dictionary mode and put a lookup
// and a getter call on every `mptcp.isMptcp(socket)`.
import * as connectModule from './connect';
import * as serverModule from './server';
import * as infoModule from './info';
import * as supportModule from './support';
import * as errorsModule from './errors';
import * as diagModule from './diag';
import * as monitorModule from './monitor';
import * as connectorModule from './connector';
import * as dashboardModule from './dashboard';

export import connect = connectModule.connect;
export import createConnection = connectModule.createConnection;
export type { ConnectOptions } from './connect';
export import createServer = serverModule.createServer;
export import listen = serverModule.listen;
export import Server = serverModule.Server;
export type { ListenHandle, ListenOptions, ServerOptions } from './server';
export import isMptcp = infoModule.isMptcp;
export import getInfo = infoModule.getInfo;
export import getSubflows = infoModule.getSubflows;
export import getSnapshot = infoModule.getSnapshot;
export type { AnySocket } from './info';
export import support = supportModule.support;
export type { SupportInfo, SupportFeatures, UnavailableReason } from './support';
export type { MptcpInfo, Subflow, TcpState } from './decode';
export type { MptcpMode } from './policy';
export type { Scope } from './scope';
export import NetlinkError = errorsModule.NetlinkError;
export import NetlinkParseError = errorsModule.NetlinkParseError;
export type { SystemError, CodedError } from './errors';
/** The in-kernel path manager: endpoints and limits of this network namespace. */
export * as pm from './pm';
export type { Endpoint, EndpointFlag, AddEndpointOptions, Limits, ConnectionRef, SubflowEnds } from './pm';
export import connections = diagModule.connections;
export import getSubflowFlags = diagModule.getSubflowFlags;
export type { Connection, ConnectionSubflow, ConnectionsOptions } from './diag';
export import monitor = monitorModule.monitor;
export import Monitor = monitorModule.Monitor;
export type { MptcpEvent, MptcpEventType, MonitorOptions } from './monitor';
/** `mptcp.http.Agent`: an `http.Agent` whose connections are MPTCP. */
export * as http from './http';
/** `mptcp.https.Agent`: an `https.Agent` whose TLS connections run over MPTCP. */
export * as https from './https';
export import connector = connectorModule.connector;
export type { Connector, ConnectorOptions, ConnectParams, ConnectCallback } from './connector';
export type { HttpAgentOptions, HttpsAgentOptions } from './agents';
/** Prometheus metrics: prom-client collectors (`register`), the text exposition and the exporter. */
export * as metrics from './metrics';
export type { MptcpMetrics, RegisterOptions, RegistryLike, TrackOptions } from './metrics';
export import dashboard = dashboardModule.dashboard;
export type { DashboardHandler, DashboardOptions } from './dashboard';
