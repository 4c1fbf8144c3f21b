-- Mart recommendations: the top 5 products for each user. Item-to-item co-occurrence — users
-- who put X in a cart or bought it also did so with Y, so Y is offered to whoever took X
-- (score: the number of such users, summed over the user's items) — blended with popularity
-- in the user's favourite category (at most 0.5, so "bought together" comes first). Never a
-- product the user already carted or bought, never one out of stock, never one missing from
-- the products topic (forbidden ones never reach it). Published to topic `recommendations`.
with interactions as (
  select distinct user_id, product_id
  from user_events
  where type in ('add_to_cart', 'purchase')
),
available as (
  select product_id, category from products_current where stock_available > 0
),
co as (
  select a.product_id as a, b.product_id as b, count(*) as users
  from interactions a
  join interactions b on a.user_id = b.user_id and a.product_id <> b.product_id
  group by a.product_id, b.product_id
),
together as (
  select i.user_id, co.b as product_id, cast(sum(co.users) as double) as score
  from interactions i
  join co on co.a = i.product_id
  group by i.user_id, co.b
),
affinity as (
  select user_id, category
  from (
    select
      e.user_id, p.category,
      row_number() over (partition by e.user_id order by count(*) desc, p.category) as affinity_rank
    from user_events e
    join products_current p on p.product_id = e.product_id
    group by e.user_id, p.category
  ) ranked
  where affinity_rank = 1
),
sales as (
  select p.product_id, p.category, cast(count(*) as double) as purchases
  from user_events e
  join products_current p on p.product_id = e.product_id
  where e.type = 'purchase'
  group by p.product_id, p.category
),
popularity as (
  select product_id, category, purchases / max(purchases) over (partition by category) as share
  from sales
),
candidates as (
  select user_id, product_id, score, 1 as together from together
  union all
  select a.user_id, p.product_id, 0.5 * p.share as score, 0 as together
  from affinity a
  join popularity p on p.category = a.category
),
scored as (
  select
    c.user_id,
    c.product_id,
    round(sum(c.score), 6) as score,
    max(c.together) as together,
    max(av.category) as category
  from candidates c
  join available av on av.product_id = c.product_id
  left join interactions i on i.user_id = c.user_id and i.product_id = c.product_id
  where i.product_id is null
  group by c.user_id, c.product_id
),
ranked as (
  select
    s.*,
    row_number() over (partition by s.user_id order by s.score desc, s.product_id) as rec_rank
  from scored s
)
select
  user_id,
  cast(rec_rank as int) as rec_rank,
  product_id,
  score,
  case
    when together = 1 then 'bought together with your items'
    else concat('popular in ', category)
  end as reason
from ranked
where rec_rank <= 5
