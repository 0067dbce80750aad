import json
R = [  # id, name, cuisine, tags, rating, delivery_minutes, delivery_fee, min_order
 ("r01","Nonna's Oven","italian",["pizza","pasta"],4.4,35,2.5,12),
 ("r02","Sakura Bento","japanese",["sushi","ramen","bento"],4.6,40,3.0,15),
 ("r03","Burger Forge","american",["burger","fries"],4.2,25,2.0,10),
 ("r04","Lotus Thai Kitchen","thai",["curry","noodles","spicy"],4.5,38,2.5,14),
 ("r05","Spice Route","indian",["curry","biryani","spicy"],4.3,42,2.0,15),
 ("r06","Casa Verde","mexican",["tacos","burrito"],4.1,30,1.5,10),
 ("r07","Golden Wok","chinese",["dumplings","noodles"],4.0,33,1.5,12),
 ("r08","Green Bowl","salad",["salad","vegan","healthy"],4.7,28,2.5,11),
 ("r09","Seoul Street","korean",["bbq","bibimbap","spicy"],4.4,45,3.0,16),
 ("r10","Olive Grove","mediterranean",["falafel","hummus","wraps"],4.5,32,2.0,12),
 ("r11","Smokehouse 88","bbq",["bbq","ribs","wings"],4.2,50,3.5,18),
 ("r12","Morning Crumb","bakery",["pastry","coffee","breakfast"],4.6,20,1.5,8),
 ("r13","Pho Saigon","vietnamese",["pho","noodles","soup"],4.3,36,2.0,12),
 ("r14","Tandoor Nights","indian",["tandoori","naan","curry"],4.4,44,2.5,15),
]
D = [ # id, restaurant, name, price, tags, rating
 ("d01","r01","Margherita Pizza",11.5,["pizza","vegetarian"],4.5),
 ("d02","r01","Pepperoni Pizza",13.0,["pizza"],4.6),
 ("d03","r01","Mushroom Risotto",14.0,["vegetarian","gluten_free"],4.3),
 ("d04","r02","Salmon Sushi Set",18.0,["sushi","gluten_free"],4.7),
 ("d05","r02","Tonkotsu Ramen",14.5,["ramen","noodles"],4.5),
 ("d06","r02","Vegetable Maki Roll",9.5,["sushi","vegetarian","vegan"],4.2),
 ("d07","r03","Classic Cheeseburger",10.5,["burger"],4.3),
 ("d08","r03","Veggie Burger",10.0,["burger","vegetarian"],4.1),
 ("d09","r03","Chicken Burger",11.0,["burger","halal"],4.2),
 ("d10","r04","Green Curry",13.5,["curry","spicy","gluten_free"],4.6),
 ("d11","r04","Pad Thai",12.5,["noodles"],4.5),
 ("d12","r04","Tofu Red Curry",12.0,["curry","vegan","vegetarian","spicy"],4.4),
 ("d13","r05","Chicken Biryani",13.0,["biryani","halal"],4.5),
 ("d14","r05","Chana Masala",10.5,["curry","vegan","vegetarian","halal"],4.4),
 ("d15","r05","Lamb Rogan Josh",15.5,["curry","halal","spicy"],4.3),
 ("d16","r06","Beef Tacos",9.0,["tacos"],4.2),
 ("d17","r06","Bean Burrito",8.5,["burrito","vegetarian","vegan"],4.0),
 ("d18","r06","Chicken Quesadilla",9.5,["quesadilla"],4.1),
 ("d19","r07","Pork Dumplings",8.0,["dumplings"],4.3),
 ("d20","r07","Vegetable Chow Mein",9.0,["noodles","vegetarian","vegan"],4.0),
 ("d21","r07","Kung Pao Chicken",11.5,["spicy"],4.2),
 ("d22","r08","Quinoa Power Salad",11.0,["salad","vegan","vegetarian","gluten_free"],4.7),
 ("d23","r08","Chicken Caesar Salad",11.5,["salad"],4.4),
 ("d24","r08","Avocado Buddha Bowl",12.0,["salad","vegan","vegetarian","gluten_free"],4.6),
 ("d25","r09","Beef Bulgogi",15.0,["bbq","spicy"],4.5),
 ("d26","r09","Vegetable Bibimbap",12.0,["bibimbap","vegetarian","vegan"],4.4),
 ("d27","r09","Korean Fried Chicken",13.5,["wings","spicy"],4.6),
 ("d28","r10","Falafel Wrap",8.5,["falafel","wraps","vegan","vegetarian","halal"],4.5),
 ("d29","r10","Hummus Platter",9.0,["hummus","vegan","vegetarian","gluten_free","halal"],4.4),
 ("d30","r10","Chicken Shawarma",10.5,["wraps","halal"],4.6),
 ("d31","r11","Smoked Ribs",19.0,["ribs","bbq","gluten_free"],4.4),
 ("d32","r11","Buffalo Wings",12.5,["wings","bbq","spicy"],4.2),
 ("d33","r11","Pulled Pork Sandwich",12.0,["bbq"],4.3),
 ("d34","r12","Butter Croissant",3.5,["pastry","breakfast","vegetarian"],4.7),
 ("d35","r12","Blueberry Muffin",3.0,["pastry","breakfast","vegetarian"],4.5),
 ("d36","r12","Cappuccino",4.0,["coffee","vegetarian","gluten_free"],4.6),
 ("d37","r13","Beef Pho",13.0,["pho","soup","noodles"],4.5),
 ("d38","r13","Tofu Pho",12.0,["pho","soup","noodles","vegan","vegetarian"],4.2),
 ("d39","r13","Spring Rolls",7.0,["vegetarian","vegan"],4.3),
 ("d40","r14","Tandoori Chicken",14.0,["tandoori","halal","gluten_free"],4.5),
 ("d41","r14","Garlic Naan",3.5,["naan","vegetarian"],4.6),
 ("d42","r14","Paneer Tikka Masala",13.0,["curry","vegetarian","gluten_free"],4.4),
]
restaurants=[{"id":i,"name":n,"cuisine":c,"tags":t,"rating":r,"delivery_minutes":m,"delivery_fee":f,"min_order":mo,"open":True} for i,n,c,t,r,m,f,mo in R]
rname={i:n for i,n,*_ in R}
dishes=[{"id":i,"restaurant_id":ri,"restaurant_name":rname[ri],"name":n,"price":p,"tags":t,"rating":r} for i,ri,n,p,t,r in D]
coupons=[{"id":"save10","code":"SAVE10","description":"10% off orders over 25","discount_percent":10,"min_order":25},
         {"id":"freeship","code":"FREESHIP","description":"Free delivery on any order","discount_percent":0,"min_order":0},
         {"id":"lunch15","code":"LUNCH15","description":"15% off lunch orders before 2 pm","discount_percent":15,"min_order":15}]

def P(key,type,desc,required=False,**kw):
    d={"key":key,"type":type,"description":desc}
    if required: d["required"]=True
    d.update(kw); return d

PLAT=["quickbite","pennyplate","luxedine"]
DIET=P("diet","string","Only show dishes suitable for this diet.",enum=["vegetarian","vegan","halal","gluten_free"],profile=["diet"])
ADDR=lambda req=True: P("delivery_address","string","Full street address to deliver to.",required=req,profile=["home_address","work_address"],names={"pennyplate":"address","luxedine":"deliver_to"})
PHONE=P("contact_phone","string","Phone number the rider can call.",required=True,profile=["phone"],names={"pennyplate":"phone","luxedine":"mobile"})
PAY=P("payment_method","string","How the order is paid.",required=True,enum=["credit_card","debit_card","e_wallet","cash"],profile=["payment_method"],names={"luxedine":"payment"})
QTY=P("quantity","integer","Number of portions.",required=True,minimum=1,maximum=20,values=[[1],[2],[3],[4]],names={"pennyplate":"qty"})
KW_DISH=P("keyword","string","Words to look for in dish names and tags.",required=True,values=[["pizza"],["sushi"],["curry"],["ramen"],["tacos"],["dumplings"],["salad"],["pho"],["burger"],["noodles"],["wings"],["falafel"]],names={"pennyplate":"query","luxedine":"search_text"})
KW_REST=P("keyword","string","Words to look for in restaurant names, cuisines and tags.",required=True,values=[["pizza"],["sushi"],["thai"],["indian"],["mexican"],["korean"],["bbq"],["vegan"],["noodles"],["bakery"],["mediterranean"],["vietnamese"]],names={"pennyplate":"query","luxedine":"search_text"})
MAXP=P("max_price","number","Highest acceptable price per dish.",minimum=0,values=[[10],[12],[15],[20]],names={"luxedine":"price_cap"})
RID=P("restaurant_id","string","Restaurant id as returned by a search.",required=True,names={"luxedine":"venue_id"})
DID=P("dish_id","string","Dish id as returned by a menu or dish search.",required=True,names={"pennyplate":"item_id","luxedine":"menu_item_id"})
OID=P("order_id","string","Order id.",required=True,names={"pennyplate":"order_no"})
DATE=P("delivery_date","string","Delivery date, YYYY-MM-DD.",required=True,pattern=r"^\d{4}-\d{2}-\d{2}$",context="date",names={"luxedine":"date"})
TIME=P("delivery_time","string","Delivery time, HH:MM (24 h).",required=True,pattern=r"^\d{2}:\d{2}$",context="time",names={"luxedine":"time"})
LIMIT=P("max_results","integer","How many results to return (default 10).",minimum=1,maximum=20,names={"pennyplate":"limit"})

apis=[
 {"key":"search_restaurants","kind":"READ","description":"Search restaurants that deliver to the user by keyword (cuisine, dish type or name). Results show rating, delivery time and delivery fee.",
  "names":{"pennyplate":"find_restaurants","luxedine":"discover_restaurants"},
  "params":[KW_REST,P("near_address","string","Only restaurants delivering to this address.",profile=["home_address","work_address"],names={"pennyplate":"deliver_to","luxedine":"address"}),P("sort_by","string","Order of results.",enum=["rating","delivery_time","delivery_fee"],values=[["rating"],["delivery_time"],["delivery_fee"]],names={"luxedine":"order_by"}),LIMIT],
  "op":{"type":"search","entity":"restaurant","match":{"keyword":{"fields":["name","cuisine","tags"],"mode":"text"}},"sort":{"param":"sort_by","keys":{"rating":"-rating","delivery_time":"delivery_minutes","delivery_fee":"delivery_fee"}},"default_sort":"-rating","limit_param":"max_results","fields":["id","name","cuisine","rating","delivery_minutes","delivery_fee"]},
  "queries":["Find me some {keyword} places that deliver.","I feel like {keyword} tonight, what restaurants are around?","Show me {keyword} restaurants.","Look up {keyword} restaurants for me, sorted by {sort_by}.","Any good {keyword} spots that deliver?","Which {keyword} restaurants deliver {near_address}?","Find {keyword} places that can bring food {near_address}."]},
 {"key":"get_restaurant","kind":"READ","description":"Get a restaurant's details: cuisine, rating, delivery time, delivery fee and minimum order.",
  "names":{"pennyplate":"restaurant_info","luxedine":"venue_details"},"params":[RID],
  "op":{"type":"get","entity":"restaurant","id_param":"restaurant_id"},"queries":[]},
 {"key":"get_menu","kind":"READ","description":"List the dishes a restaurant offers, optionally under a maximum price.",
  "names":{"pennyplate":"restaurant_menu","luxedine":"view_menu"},"params":[RID,MAXP],
  "op":{"type":"search","entity":"dish","refs":{"restaurant_id":"restaurant"},"match":{"restaurant_id":{"field":"restaurant_id","mode":"eq"},"max_price":{"field":"price","mode":"le"}},"limit":20,"fields":["id","name","price","tags","rating"]},"queries":[]},
 {"key":"search_dishes","kind":"READ","description":"Search dishes across all restaurants by keyword, optionally filtered by diet and maximum price.",
  "names":{"pennyplate":"find_dishes","luxedine":"search_menu_items"},
  "params":[KW_DISH,DIET,MAXP,P("sort_by","string","Order of results.",enum=["price","rating"],values=[["price"],["rating"]],names={"luxedine":"order_by"}),LIMIT],
  "op":{"type":"search","entity":"dish","match":{"keyword":{"fields":["name","tags"],"mode":"text"},"diet":{"field":"tags","mode":"in"},"max_price":{"field":"price","mode":"le"}},"sort":{"param":"sort_by","keys":{"price":"price","rating":"-rating"}},"default_sort":"-rating","limit_param":"max_results","fields":["id","name","restaurant_id","restaurant_name","price","tags","rating"]},
  "queries":["Search for {keyword} dishes under {max_price} dollars.","What {keyword} can I get for at most {max_price}?","Find {keyword} dishes that fit {diet:noun}.","I want {keyword}, but it has to suit {diet:noun}.","Show me {keyword} options sorted by {sort_by}.","Find {keyword} that suits {diet:noun}, nothing over {max_price}."]},
 {"key":"subscribe_membership","kind":"WRITE","description":"Start a delivery membership (free delivery on every order), billed with the given payment method.",
  "names":{"pennyplate":"join_saver_club","luxedine":"become_member"},"params":[P("plan","string","Membership plan.",required=True,enum=["monthly","yearly"],values=[["monthly"],["yearly"]]),PAY],
  "op":{"type":"create","collection":"memberships","status":"active"},"queries":["Sign me up for the {plan} membership.","I'd like the {plan} delivery membership, charged the usual way.","Start a {plan} membership for me, paid with {payment_method:noun}."]},
 {"key":"add_to_cart","kind":"WRITE","description":"Add a dish to the cart.",
  "names":{"pennyplate":"cart_add","luxedine":"add_item"},"params":[DID,QTY],
  "op":{"type":"create","collection":"cart","id_from":"dish_id","refs":{"dish_id":"dish"},"copy":{"dish_id":{"name":"name","unit_price":"price"}},"total":["unit_price","quantity"]},"queries":[]},
 {"key":"view_cart","kind":"READ","description":"Show the dishes in the cart.",
  "names":{"pennyplate":"cart","luxedine":"show_cart"},"params":[],
  "op":{"type":"search","collection":"cart","limit":50},"queries":["What's in my cart right now?","Show me my cart.","Can you check what I have in the basket?"]},
 {"key":"remove_from_cart","kind":"WRITE","description":"Remove a dish from the cart.",
  "names":{"pennyplate":"cart_remove","luxedine":"remove_item"},"params":[DID],
  "op":{"type":"delete","collection":"cart","id_param":"dish_id"},"queries":[]},
 {"key":"clear_cart","kind":"WRITE","description":"Remove everything from the cart.",
  "names":{"pennyplate":"cart_clear","luxedine":"empty_cart"},"params":[],
  "op":{"type":"clear","collection":"cart"},"queries":["Empty my cart, I changed my mind.","Clear the basket please.","Remove everything from my cart."]},
 {"key":"place_order","kind":"WRITE","description":"Order a dish for delivery now. Needs the dish id, quantity, delivery address, a contact phone and the payment method.",
  "names":{"pennyplate":"checkout","luxedine":"create_order"},"params":[DID,QTY,ADDR(),PHONE,PAY,P("note","string","A note for the restaurant.")],
  "op":{"type":"create","collection":"orders","status":"placed","refs":{"dish_id":"dish"},"copy":{"dish_id":{"dish_name":"name","unit_price":"price","restaurant_id":"restaurant_id"}},"total":["unit_price","quantity"]},"queries":[]},
 {"key":"schedule_order","kind":"WRITE","description":"Order a dish for delivery at a later date and time.",
  "names":{"pennyplate":"preorder","luxedine":"reserve_delivery"},"params":[DID,QTY,ADDR(),PHONE,DATE,TIME],
  "op":{"type":"create","collection":"orders","status":"scheduled","refs":{"dish_id":"dish"},"copy":{"dish_id":{"dish_name":"name","unit_price":"price","restaurant_id":"restaurant_id"}},"total":["unit_price","quantity"]},"queries":[]},
 {"key":"track_order","kind":"READ","description":"Get an order's status and details.",
  "names":{"pennyplate":"order_status","luxedine":"where_is_my_order"},"params":[OID],
  "op":{"type":"get","collection":"orders","id_param":"order_id"},"queries":[]},
 {"key":"list_orders","kind":"READ","description":"List the user's orders, optionally by status.",
  "names":{"pennyplate":"my_orders","luxedine":"order_history"},
  "params":[P("status","string","Only orders with this status.",enum=["placed","scheduled","delivered","cancelled"],values=[["delivered"],["cancelled"],["placed"],["scheduled"]])],
  "op":{"type":"search","collection":"orders","match":{"status":{"field":"status","mode":"eq"}},"limit":50},
  "queries":["Show me my {status} orders.","Which of my orders are {status}?","List my past orders.","Pull up my order history."]},
 {"key":"cancel_order","kind":"WRITE","description":"Cancel an order that has not been delivered yet.",
  "names":{"pennyplate":"order_cancel","luxedine":"cancel_delivery"},"params":[OID,P("reason","string","Why the order is cancelled.",enum=["changed_mind","too_slow","wrong_item","other"])],
  "op":{"type":"transition","collection":"orders","id_param":"order_id","from":["placed","scheduled"],"to":"cancelled","set":["reason"]},"queries":[]},
 {"key":"change_delivery_address","kind":"WRITE","description":"Change where an undelivered order goes.",
  "names":{"pennyplate":"update_address","luxedine":"redirect_order"},"params":[OID,ADDR()],
  "op":{"type":"transition","collection":"orders","id_param":"order_id","from":["placed","scheduled"],"set":["delivery_address"]},"queries":[]},
 {"key":"rate_order","kind":"WRITE","description":"Rate a delivered order from 1 to 5 stars.",
  "names":{"pennyplate":"review_order","luxedine":"leave_rating"},"params":[OID,P("stars","integer","Rating from 1 to 5.",required=True,minimum=1,maximum=5,names={"luxedine":"score"}),P("comment","string","Optional comment.")],
  "op":{"type":"transition","collection":"orders","id_param":"order_id","from":["delivered"],"set":["stars","comment"]},"queries":[]},
 {"key":"add_favorite","kind":"WRITE","description":"Save a restaurant to the favourites list.",
  "names":{"pennyplate":"favorite_restaurant","luxedine":"bookmark_venue"},"params":[RID],
  "op":{"type":"create","collection":"favorites","id_from":"restaurant_id","refs":{"restaurant_id":"restaurant"},"copy":{"restaurant_id":{"name":"name","cuisine":"cuisine"}}},"queries":[]},
 {"key":"list_favorites","kind":"READ","description":"List the user's favourite restaurants.",
  "names":{"pennyplate":"favorites","luxedine":"bookmarked_venues"},"params":[],
  "op":{"type":"search","collection":"favorites","limit":50},"queries":["Which restaurants did I save as favourites?","Show my favourite restaurants.","List my saved places."]},
 {"key":"update_contact_info","kind":"WRITE","description":"Update the account's contact phone and email.",
  "names":{"pennyplate":"edit_profile","luxedine":"update_account"},"params":[P("phone","string","New contact phone.",required=True,profile=["phone"],names={"luxedine":"mobile"}),P("email","string","New contact email.",required=True,profile=["email","work_email"])],
  "op":{"type":"transition","collection":"account","fixed_id":"acct","set":["phone","email"]},"queries":["Update my account so it has {phone:noun} and {email:noun}.","Please set my contact details to {phone:noun} and {email:noun}.","Change the account's contact info: use {email:noun} and {phone:noun}."]},
 {"key":"list_coupons","kind":"READ","description":"List the coupons the user can apply.",
  "names":{"pennyplate":"coupons","luxedine":"available_offers"},"params":[P("min_discount","integer","Only coupons with at least this discount percent.",minimum=0,maximum=100,values=[[10],[15]])],
  "op":{"type":"search","entity":"coupon","match":{"min_discount":{"field":"discount_percent","mode":"ge"}}},
  "queries":["Are there any coupons I can use?","Show me coupons with at least {min_discount} percent off.","Any discount codes available today?"]},
 {"key":"apply_coupon","kind":"WRITE","description":"Apply a coupon code to the next order.",
  "names":{"pennyplate":"use_coupon","luxedine":"redeem_offer"},"params":[P("coupon_id","string","Coupon id as listed by the coupon search.",required=True,names={"luxedine":"offer_id"})],
  "op":{"type":"create","collection":"applied_coupons","id_from":"coupon_id","refs":{"coupon_id":"coupon"},"copy":{"coupon_id":{"code":"code","discount_percent":"discount_percent"}}},"queries":[]},
 {"key":"save_address","kind":"WRITE","description":"Save a delivery address to the account under a label.",
  "names":{"pennyplate":"add_address","luxedine":"store_address"},"params":[P("label","string","Optional label for the address, e.g. home or work.",enum=["home","work","other"]),P("address","string","Full street address.",required=True,profile=["home_address","work_address"])],
  "op":{"type":"create","collection":"addresses"},"queries":["Save {address:noun} in the app.","Please store {address:noun} in my saved addresses.","Add {address:noun} to my address book here."]},
 {"key":"contact_support","kind":"WRITE","description":"Open a support ticket; support calls back on the given phone.",
  "names":{"pennyplate":"help_request","luxedine":"concierge_request"},"params":[P("topic","string","What the ticket is about.",required=True,enum=["late_delivery","missing_item","refund","account"],values=[["late_delivery"],["missing_item"],["refund"],["account"]]),P("callback_phone","string","Phone number support should call.",required=True,profile=["phone"],names={"luxedine":"phone"})],
  "op":{"type":"create","collection":"tickets","status":"open"},"queries":["Open a support ticket about {topic} and have them call me back.","I need help with a {topic} issue, please ask support to ring {callback_phone:noun}.","File a {topic} complaint and get someone to call me."]},
 {"key":"estimate_delivery","kind":"READ","description":"Estimate delivery time and fee from a restaurant to an address.",
  "names":{"pennyplate":"delivery_quote","luxedine":"delivery_estimate"},"params":[RID,ADDR()],
  "op":{"type":"get","entity":"restaurant","id_param":"restaurant_id","fields":["id","name","delivery_minutes","delivery_fee","min_order"]},"queries":[]},
]
# placeholders in templates for enums: use readable text
chains=[
 {"first":"search_dishes","then":"place_order","first_args":{"sort_by":"price"},"bind":{"dish_id":"id"},
  "queries":["Order {quantity} of the cheapest {keyword} you can find and have it delivered {delivery_address}.","Get me {quantity} portions of the least expensive {keyword}, delivered {delivery_address}.","I'm hungry: the cheapest {keyword} available, {quantity} of them, sent {delivery_address}."]},
 {"first":"search_dishes","then":"place_order","first_args":{"sort_by":"rating"},"bind":{"dish_id":"id"},
  "queries":["Order {quantity} of the best-rated {keyword} and send it {delivery_address}.","Find the top-rated {keyword} and order {quantity} {delivery_address}."]},
 {"first":"search_dishes","then":"schedule_order","first_args":{"sort_by":"rating"},"bind":{"dish_id":"id"},
  "queries":["Schedule {quantity} of the highest-rated {keyword} for {delivery_date} {delivery_time}, delivered {delivery_address}.","Pre-order the best {keyword} you can find, {quantity} portions, for {delivery_date} {delivery_time} {delivery_address}."]},
 {"first":"search_restaurants","then":"estimate_delivery","first_args":{"sort_by":"rating"},"bind":{"restaurant_id":"id"},
  "queries":["How long would the best {keyword} restaurant take to deliver {delivery_address}?","Check the delivery time and fee from the top-rated {keyword} place {delivery_address}."]},
 {"first":"search_restaurants","then":"add_favorite","first_args":{"sort_by":"rating"},"bind":{"restaurant_id":"id"},
  "queries":["Find the highest-rated {keyword} restaurant and save it to my favourites.","Bookmark the best {keyword} place you can find."]},
]
doc={
 "id":"takeout","name":"Takeout","description":"Ordering food for delivery from restaurants.",
 "traits":{"affordability":"low dish prices and delivery fees","speed":"short delivery times","quality":"highly rated, premium restaurants and service"},
 "platforms":[
  {"id":"quickbite","name":"QuickBite","code":"QB","summary":"The fastest delivery in town with a large rider fleet; average prices and ordinary service.","traits":{"affordability":0.5,"speed":0.95,"quality":0.45},"price_factor":1.0,"time_factor":0.6,"rating_offset":-0.1},
  {"id":"pennyplate","name":"PennyPlate","code":"PP","summary":"The budget option: the lowest prices and frequent discounts, but slower delivery and plainer service.","traits":{"affordability":0.95,"speed":0.4,"quality":0.35},"price_factor":0.75,"time_factor":1.25,"rating_offset":-0.3},
  {"id":"luxedine","name":"LuxeDine","code":"LD","summary":"Premium partner restaurants, careful packaging and attentive support; the highest prices.","traits":{"affordability":0.2,"speed":0.55,"quality":0.95},"price_factor":1.35,"time_factor":1.0,"rating_offset":0.3}],
 "entities":{
  "restaurant":{"id_prefix":"R","records":restaurants,"price_fields":["delivery_fee","min_order"],"time_fields":["delivery_minutes"],"rating_fields":["rating"]},
  "dish":{"id_prefix":"D","records":dishes,"price_fields":["price"],"rating_fields":["rating"]},
  "coupon":{"id_prefix":"C","records":coupons}},
 "collections":{
  "orders":{"id_prefix":"O","singular":"order","initial":[
     {"id":"o01","status":"delivered","dish_id":"d02","dish_name":"Pepperoni Pizza","quantity":1,"created_at":"2026-02-20T19:05"},
     {"id":"o02","status":"delivered","dish_id":"d13","dish_name":"Chicken Biryani","quantity":2,"created_at":"2026-02-25T12:40"}]},
  "cart":{"id_prefix":"CI","singular":"cart_item"},
  "favorites":{"id_prefix":"F","singular":"favorite"},
  "applied_coupons":{"id_prefix":"CP","singular":"applied_coupon"},
  "addresses":{"id_prefix":"A","singular":"address"},
  "tickets":{"id_prefix":"T","singular":"ticket"},
  "memberships":{"id_prefix":"M","singular":"membership"},
  "account":{"id_prefix":"AC","singular":"account","initial":[{"id":"acct","phone":"","email":"","member_since":"2024-05-01"}]}},
 "apis":apis,
 "contexts":[
  {"id":"family_dinner","phrases":["It's for a family dinner.","The whole family is eating with me tonight.","I'm feeding the family tonight."]},
  {"id":"late_night","phrases":["It's late at night.","It's almost midnight here.","Late-night craving, sorry."]},
  {"id":"guests","phrases":["I have guests coming over.","Some friends are coming round.","We're hosting people tonight."]},
  {"id":"office_lunch","phrases":["This is for lunch at the office.","It's a working lunch.","Lunch break at work."]}],
 "chains":chains,
}
json.dump(doc,open("/work/main/tools_registry/data/takeout.json","w"),indent=1,ensure_ascii=False)
print(len(apis))
