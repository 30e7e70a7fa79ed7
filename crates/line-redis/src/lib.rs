//! The waiting line's store on Redis or Redis Cluster.
